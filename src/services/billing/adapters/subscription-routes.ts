import type { FastifyInstance } from 'fastify';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import type { BillingDeps } from '../app/deps.js';
import { cancelSubscription } from '../app/subscription-cancel.js';
import { createSubscription } from '../app/subscription-create.js';
import * as Items from '../app/subscription-items.js';
import { updateSubscriptionParams } from '../app/subscription-update.js';
import { listAllSubscriptions, retrieveSubscription } from '../app/subscriptions.js';
import { expandSubscription } from './subscription-expand.js';
import * as S from './subscription-schemas.js';

/** /v1/subscriptions and /v1/subscription_items, behind the gateway's authentication; every write runs through the write pipeline. */
export function subscriptionRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write, (merchant_id, body, fields) => expandSubscription(deps, merchant_id, body, fields));
    // A subscription's first invoice (and its PaymentIntent and charge) are created with it: their ids are reserved with the key too.
    const creates = ['subscription', 'subscription_item', 'invoice', 'payment_intent', 'charge'] as const;
    post('/v1/subscriptions', S.createSubscriptionSchema, creates, (ctx, p) => createSubscription(deps, ctx, p));
    post('/v1/subscriptions/:id', S.updateSubscriptionSchema, [], (ctx, p, r) => updateSubscriptionParams(deps, ctx, pathId(r), p));
    post('/v1/subscriptions/:id', S.cancelSubscriptionSchema, [], (ctx, p, r) => cancelSubscription(deps, ctx, pathId(r), p), 'DELETE');
    get('/v1/subscriptions/:id', S.retrieveSubscriptionSchema, (m, _q, r) => retrieveSubscription(deps, m, pathId(r)));
    get('/v1/subscriptions', S.listSubscriptionsSchema, async (m, q) => listOf('/v1/subscriptions', await listAllSubscriptions(deps, m, q, pageOf(q))));
    post('/v1/subscription_items', S.createItemSchema, ['subscription_item'], (ctx, p) => Items.createItem(deps, ctx, p));
    post('/v1/subscription_items/:id', S.updateItemSchema, [], (ctx, p, r) => Items.updateItem(deps, ctx, pathId(r), p));
    post('/v1/subscription_items/:id', S.deleteItemSchema, [], (ctx, p, r) => Items.deleteItem(deps, ctx, pathId(r), p), 'DELETE');
    get('/v1/subscription_items/:id', S.retrieveItemSchema, (m, _q, r) => Items.retrieveItem(deps, m, pathId(r)));
    get('/v1/subscription_items', S.listItemsSchema, async (m, q) =>
      listOf(
        '/v1/subscription_items',
        await Items.listItems(deps, m, q.subscription, { limit: q.limit, starting_after: q.starting_after, ending_before: q.ending_before }),
      ),
    );
  };
}

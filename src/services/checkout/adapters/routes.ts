import type { FastifyInstance } from 'fastify';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import type { CheckoutDeps } from '../app/deps.js';
import * as Sessions from '../app/sessions.js';
import { expandSession } from './expand.js';
import * as S from './route-schemas.js';

/** The Checkout Session API, behind the gateway's authentication; every POST runs through the write pipeline. */
export function checkoutRoutes(deps: CheckoutDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write, (merchant_id, body, fields) => expandSession(deps, merchant_id, body, fields));
    post('/v1/checkout/sessions', S.createSessionSchema, ['checkout_session'], (ctx, p) => Sessions.createSession(deps, ctx, p));
    post('/v1/checkout/sessions/:id/expire', S.expireSchema, [], (ctx, _p, r) => Sessions.expireSession(deps, ctx, pathId(r)));
    get('/v1/checkout/sessions/:id', S.retrieveSchema, (m, _q, r) => Sessions.retrieveSession(deps, m, pathId(r)));
    get('/v1/checkout/sessions/:id/line_items', S.lineItemsSchema, (m, q, r) => Sessions.sessionLineItems(deps, m, pathId(r), q));
    get('/v1/checkout/sessions', S.listSchema, async (m, q) =>
      listOf('/v1/checkout/sessions', await Sessions.listCheckoutSessions(deps, m, { customer: q.customer, payment_intent: q.payment_intent }, pageOf(q))),
    );
  };
}

import { z } from 'zod';
import type { RouteKit } from '../../../platform/http/routes.js';
import * as P from '../../../platform/http/params.js';
import * as Search from '../app/search.js';
import type { PaymentsDeps } from '../app/deps.js';
import type { ObjectType } from './expand-graph.js';
import { expandListOf } from './param-shapes.js';

/** Stripe's search parameters: the query, a page size and the `next_page` cursor of the previous page. */
const searchSchema = (type: ObjectType) =>
  z.strictObject({
    query: P.nonEmptyText(5000),
    limit: P.integer({ min: 1, max: 100 }).optional(),
    page: P.text(5000).optional(),
    expand: expandListOf(type).optional(),
  });

/** `GET /v1/{customers,payment_intents,charges}/search`: Fastify matches these static paths before the `:id` retrieve routes. */
export function registerSearchRoutes({ get }: RouteKit, payments: PaymentsDeps): void {
  get('/v1/customers/search', searchSchema('customer'), async (merchant_id, query) => ({ ...(await Search.searchCustomers(payments, merchant_id, query)) }));
  get('/v1/payment_intents/search', searchSchema('payment_intent'), async (merchant_id, query) => ({
    ...(await Search.searchPaymentIntents(payments, merchant_id, query)),
  }));
  get('/v1/charges/search', searchSchema('charge'), async (merchant_id, query) => ({ ...(await Search.searchCharges(payments, merchant_id, query)) }));
}

import { z } from 'zod';
import type { RouteKit } from '../../../platform/http/routes.js';
import * as P from '../../../platform/http/params.js';
import * as Search from '../app/search.js';
import type { PaymentsDeps } from '../app/deps.js';

/** Stripe's search parameters: the query, a page size and the `next_page` cursor of the previous page. */
const searchSchema = z.strictObject({
  query: P.nonEmptyText(5000),
  limit: P.integer({ min: 1, max: 100 }).optional(),
  page: P.text(5000).optional(),
  expand: P.expand().optional(),
});

/** `GET /v1/{customers,payment_intents,charges}/search`: Fastify matches these static paths before the `:id` retrieve routes. */
export function registerSearchRoutes({ get }: RouteKit, payments: PaymentsDeps): void {
  get('/v1/customers/search', searchSchema, async (merchant_id, query) => ({ ...(await Search.searchCustomers(payments, merchant_id, query)) }));
  get('/v1/payment_intents/search', searchSchema, async (merchant_id, query) => ({ ...(await Search.searchPaymentIntents(payments, merchant_id, query)) }));
  get('/v1/charges/search', searchSchema, async (merchant_id, query) => ({ ...(await Search.searchCharges(payments, merchant_id, query)) }));
}

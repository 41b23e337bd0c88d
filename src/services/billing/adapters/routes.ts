import type { FastifyInstance } from 'fastify';
import type { BillingDeps } from '../app/deps.js';
import { catalogRoutes } from './catalog-routes.js';
import { invoicePageRoutes } from './invoice-page-routes.js';
import { invoiceRoutes } from './invoice-routes.js';
import { subscriptionRoutes } from './subscription-routes.js';
import { testClockRoutes } from './test-clock-routes.js';

/** Each part of billing's route plugin; a helper adding routes appends its plugin here. */
const PLUGINS: readonly ((deps: BillingDeps) => (app: FastifyInstance) => Promise<void>)[] = [
  catalogRoutes,
  invoiceRoutes,
  invoicePageRoutes,
  testClockRoutes,
  subscriptionRoutes,
];

/** The billing API (products, prices, invoices, subscriptions), behind the gateway's authentication. */
export function billingRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // Called in billing's own plugin context, so the gateway's hooks apply to every route alike.
    for (const plugin of PLUGINS) await plugin(deps)(app);
  };
}

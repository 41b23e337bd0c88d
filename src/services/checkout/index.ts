/** The checkout service's public entry: the Checkout Session API, the hosted payment page, the expiry sweep. */
export type { CheckoutDeps } from './app/deps.js';
export { checkoutRoutes } from './adapters/routes.js';
export { checkoutPageRoutes } from './adapters/page-routes.js';
export { CHECKOUT_EXPIRY_INTERVAL_MS, CHECKOUT_EXPIRY_JOB, expireDueSessions } from './app/expiry.js';
export { checkoutMigrations } from './migrations/index.js';

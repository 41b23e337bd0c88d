/** The billing service's public entry: the catalog (products, prices), and what invoices and subscriptions build on. */
export type { BillingDeps } from './app/deps.js';
export { billingRoutes } from './adapters/routes.js';
export { billingMigrations } from './migrations/index.js';
// Payments shows a customer's test clock (and checks it exists) through this.
export { retrieveTestClock } from './app/test-clocks.js';
export type { InvoiceHooks } from './app/invoice-hooks.js';
export { noInvoiceHooks } from './app/invoice-hooks.js';
// Renewals, dunning and test clocks: the billing job and the hooks the composition root wires (docs/billing.md).
export { billingInvoiceHooks } from './app/billing-hooks.js';
export { BILLING_JOB, runBillingWork, scheduleBillingWork } from './app/billing-jobs.js';
export type { WorkDone } from './app/billing-work.js';

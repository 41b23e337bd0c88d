import type { BillingDeps } from './deps.js';
import type { InvoiceHooks } from './invoice-hooks.js';
import { dunningHooks } from './collection.js';
import { subscriptionInvoiceHooks } from './subscription-hooks.js';
import { subscriptionUpcoming } from './subscription-upcoming.js';

/**
 * Every part of billing's invoice hooks, in one list: subscriptions move their status, dunning keeps
 * its renewal rows (the next try, or the end) in the same statement as the invoice's change.
 */
export function billingInvoiceHooks(deps: BillingDeps): InvoiceHooks {
  const subscriptions = subscriptionInvoiceHooks();
  const dunning = dunningHooks(deps);
  return {
    paid: [subscriptions.paid, ...dunning.paid],
    payment_failed: [subscriptions.payment_failed, ...dunning.payment_failed],
    upcoming: [subscriptionUpcoming],
  };
}

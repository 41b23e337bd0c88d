import type { Db } from '../../../platform/db.js';
import type { Subscription } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import { boundary, periodIndexAt } from '../domain/periods.js';
import type { Period } from '../domain/periods.js';
import { portion } from '../domain/proration.js';
import { findSubscription, listSubscriptions } from '../adapters/subscription-store.js';
import type { LineDraft } from './invoice-drafts.js';
import type { UpcomingSource } from './invoice-hooks.js';
import { itemAmount, itemLine, loadPrices, productNames } from './subscription-prices.js';

/** Subscriptions that renew at their period's end (and so have a next invoice). */
export const RENEWING: ReadonlySet<Sub.SubscriptionStatus> = new Set(['trialing', 'active', 'past_due', 'unpaid']);

/** A customer's subscriptions the preview looks through for the next to renew; more is a bug in the caller's data. */
const CUSTOMER_SUBSCRIPTIONS_LIMIT = 100;

/**
 * The period after the current one and its lines, as the renewal bills them: one line per item at its
 * full price, or, when `cancel_at` falls inside that period, the part up to it, prorated.
 */
export async function nextPeriodLines(db: Db, merchant_id: string, subscription: Subscription): Promise<{ period: Period; lines: LineDraft[] }> {
  const book = await loadPrices(
    db,
    merchant_id,
    subscription.items.map((item) => ({ price: item.price, param: 'items', must_be_active: false })),
  );
  const names = await productNames(db, merchant_id, book);
  const { billing_cycle_anchor: anchor, recurrence, current_period_end: start } = subscription;
  const natural = { start, end: boundary(anchor, recurrence, periodIndexAt(anchor, recurrence, start) + 1) };
  const period = { start, end: subscription.cancel_at !== null && subscription.cancel_at < natural.end ? subscription.cancel_at : natural.end };
  const lines = subscription.items.map((item) =>
    itemLine(book, names, item, period, portion(itemAmount(book, item), natural, period.start, period.end), 'period'),
  );
  return { period, lines };
}

/**
 * GET /v1/invoices/upcoming's subscription part: the named subscription, or the customer's next to
 * renew, billed as its renewal would bill it (the preview adds the pending invoice items). Null when
 * it ends at its period's end instead, or is not the customer's.
 */
export const subscriptionUpcoming: UpcomingSource = async (db, merchant_id, customer, subscription_id) => {
  const subscription = subscription_id ? await findSubscription(db, merchant_id, subscription_id) : await nextToRenew(db, merchant_id, customer);
  if (!subscription || subscription.customer !== customer || !RENEWING.has(subscription.status)) return null;
  if (subscription.cancel_at !== null && subscription.cancel_at <= subscription.current_period_end) return null;
  const { lines } = await nextPeriodLines(db, merchant_id, subscription);
  return {
    subscription: subscription.id,
    currency: subscription.currency,
    period_start: subscription.current_period_start,
    period_end: subscription.current_period_end,
    lines,
    default_payment_method: subscription.default_payment_method,
    collection_method: subscription.collection_method,
    days_until_due: subscription.days_until_due,
  };
};

async function nextToRenew(db: Db, merchant_id: string, customer: string): Promise<Subscription | undefined> {
  const found = await listSubscriptions(db, merchant_id, { customer }, { limit: CUSTOMER_SUBSCRIPTIONS_LIMIT });
  const renewing = found.data.filter((subscription) => RENEWING.has(subscription.status));
  return renewing.sort((a, b) => a.current_period_end - b.current_period_end)[0];
}

import { assert } from '../../../kernel/assert.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Period, Recurrence } from './periods.js';
import { checkRecurrence } from './periods.js';

/**
 * A subscription: a customer billed each period for its items (a recurring price and a quantity).
 * Pure: the status machine, the checks on items, and the object's invariants.
 *
 *   incomplete ──paid──▶ active ◀──paid── past_due ──dunning ends──▶ unpaid | canceled
 *       │                  │  ▲                ▲
 *   23 h unpaid            │  └──── paid ──────┤
 *       ▼                  └── renewal fails ──┘
 *   incomplete_expired
 *   trialing ──trial ends, paid──▶ active;  trialing ──trial ends, payment fails──▶ past_due
 *   any status but incomplete_expired ──cancel──▶ canceled (an incomplete one expires instead)
 */

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled';
export type CollectionMethod = 'charge_automatically' | 'send_invoice';

export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'unpaid',
  'canceled',
];

/** Stripe's limit on items per subscription. */
export const MAX_ITEMS = 20;
/** Stripe: an `incomplete` subscription whose first invoice is still unpaid 23 hours later expires. */
export const INCOMPLETE_EXPIRY_S = 23 * 60 * 60;
/** Stripe's longest trial: 730 days. */
export const MAX_TRIAL_S = 730 * 86_400;
/** Quantities Stripe accepts on an item. */
export const MAX_QUANTITY = 999_999_999;

/** What a subscription needs to know of a price: its currency, recurrence and amount per quantity (catalog's `priceAmount`). */
export interface ItemPrice {
  id: string;
  product: string;
  currency: string;
  recurring: Recurrence | null;
}

export interface SubscriptionItem {
  id: string;
  price: string;
  quantity: number;
  metadata: Record<string, string>;
  created: number;
}

export interface Subscription {
  id: string;
  merchant_id: string;
  customer: string;
  currency: string;
  status: SubscriptionStatus;
  items: SubscriptionItem[];
  recurrence: Recurrence;
  billing_cycle_anchor: number;
  current_period_start: number;
  current_period_end: number;
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  ended_at: number | null;
  cancellation_reason: 'cancellation_requested' | 'payment_failed' | 'payment_disputed' | null;
  collection_method: CollectionMethod;
  days_until_due: number | null;
  default_payment_method: string | null;
  description: string | null;
  metadata: Record<string, string>;
  latest_invoice: string | null;
  start_date: number;
  trial_start: number | null;
  trial_end: number | null;
  test_clock: string | null;
  created: number;
  version: number;
}

const TRANSITIONS: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  incomplete: ['active', 'incomplete_expired'],
  trialing: ['active', 'past_due', 'canceled'],
  active: ['past_due', 'canceled', 'unpaid'],
  past_due: ['active', 'unpaid', 'canceled'],
  unpaid: ['active', 'canceled'],
  canceled: [],
  incomplete_expired: [],
};

export function canMove(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

export function isEnded(status: SubscriptionStatus): boolean {
  return status === 'canceled' || status === 'incomplete_expired';
}

/** The next version of `subscription` with `changes`; a status change must be one the machine allows. */
export function evolve(subscription: Subscription, changes: Partial<Omit<Subscription, 'id' | 'merchant_id' | 'version'>>): Subscription {
  const next = { ...subscription, ...changes, version: subscription.version + 1 };
  assert(canMove(subscription.status, next.status), `subscription ${subscription.id}: ${subscription.status} -> ${next.status} is not allowed`);
  return checkSubscription(next);
}

export function checkSubscription(subscription: Subscription): Subscription {
  const s = subscription;
  assert(s.items.length >= 1 && s.items.length <= MAX_ITEMS, 'a subscription has 1 to 20 items');
  assert(
    s.items.every((item) => Number.isSafeInteger(item.quantity) && item.quantity >= 0 && item.quantity <= MAX_QUANTITY),
    'item quantities are integers in range',
  );
  assert(new Set(s.items.map((item) => item.price)).size === s.items.length, 'each price appears on one item');
  checkRecurrence(s.recurrence);
  assert(s.current_period_start < s.current_period_end, 'the current period has a length');
  assert(s.trial_end === null || s.trial_start !== null, 'a trial has a start');
  assert(s.collection_method === 'send_invoice' ? s.days_until_due !== null : s.days_until_due === null, 'days_until_due goes with send_invoice');
  assert(isEnded(s.status) === (s.ended_at !== null), 'an ended subscription has ended_at, and only it');
  assert(Number.isSafeInteger(s.version) && s.version >= 1, 'version is a positive integer');
  return subscription;
}

export function currentPeriod(subscription: Pick<Subscription, 'current_period_start' | 'current_period_end'>): Period {
  return { start: subscription.current_period_start, end: subscription.current_period_end };
}

/**
 * Stripe's checks on a set of items: every price recurring, one currency, one billing interval, no
 * price twice, quantities within range. `param` names the items list the prices came from.
 */
export function checkItemPrices(prices: readonly ItemPrice[], param: string): { currency: string; recurrence: Recurrence } {
  const first = prices[0];
  assert(first !== undefined, 'at least one item');
  prices.forEach((price, index) => {
    if (price.recurring === null) {
      throw new PayrailError('parameter_invalid', {
        param: `${param}[${index}][price]`,
        message: `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
      });
    }
  });
  prices.forEach((price, index) => {
    if (price.currency !== first.currency) {
      throw new PayrailError('parameter_invalid', {
        param: `${param}[${index}][price]`,
        message: `The price specified (${price.id}) uses currency \`${price.currency}\` but this subscription uses \`${first.currency}\`. All prices on a subscription must use the same currency.`,
      });
    }
    const a = price.recurring;
    const b = first.recurring;
    if (a && b && (a.interval !== b.interval || a.interval_count !== b.interval_count)) {
      throw new PayrailError('parameter_invalid', {
        param: `${param}[${index}][price]`,
        message: 'Currency and interval fields must match across all plans on this subscription.',
      });
    }
  });
  const ids = prices.map((price) => price.id);
  const repeated = ids.findIndex((id, index) => ids.indexOf(id) !== index);
  if (repeated >= 0) {
    throw new PayrailError('parameter_invalid', {
      param: `${param}[${repeated}][price]`,
      message: 'Cannot add multiple subscription items with the same price.',
    });
  }
  assert(first.recurring !== null, 'checked above');
  return { currency: first.currency, recurrence: { interval: first.recurring.interval, interval_count: first.recurring.interval_count } };
}

/** Stripe: a paid invoice makes an incomplete, past_due or unpaid subscription active; a trial stays a trial. */
export function statusAfterPaid(status: SubscriptionStatus): SubscriptionStatus {
  return status === 'incomplete' || status === 'past_due' || status === 'unpaid' ? 'active' : status;
}

/**
 * Stripe: a failed payment of the first invoice leaves the subscription incomplete; of a later one
 * makes an active subscription past_due (dunning then decides whether it ends unpaid or canceled).
 */
export function statusAfterPaymentFailed(status: SubscriptionStatus, first_invoice: boolean): SubscriptionStatus {
  if (first_invoice) return status;
  return status === 'active' || status === 'trialing' ? 'past_due' : status;
}

/**
 * `cancel_at` ends the subscription at a period boundary or inside a later period (that period is
 * billed prorated up to it). Inside the current period, which is already billed, Stripe would shorten
 * it and credit the rest: Payrail does not yet, and says so.
 */
export function checkCancelAt(cancel_at: number, current_period_end: number): void {
  if (cancel_at < current_period_end) {
    throw new PayrailError('parameter_invalid', {
      param: 'cancel_at',
      message: `Payrail cancels at the end of the current period (${current_period_end}) or later; to end the subscription now, cancel it (DELETE /v1/subscriptions/:id).`,
    });
  }
}

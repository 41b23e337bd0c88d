import { assert } from '../../../kernel/assert.js';

/**
 * Dunning: what happens after a renewal invoice's payment fails. Stripe's Smart Retries are the anchor
 * ("8 tries within 2 weeks" is its recommended default); Payrail retries on a documented fixed
 * schedule of the same shape instead of a learned one: the first try when the invoice is finalized,
 * then seven retries 1, 2, 3, 5, 7, 10 and 14 days after it. A hard decline (the issuer says the card
 * will never pay: lost, stolen, fraudulent, closed, …) is not retried, as Stripe does not retry a
 * non-retryable decline code. When the tries run out the subscription goes to the merchant's end state
 * and the invoice to its end state. Pure: no clock, no I/O.
 */

export type SubscriptionEnd = 'cancel' | 'unpaid' | 'past_due';
export type InvoiceEnd = 'uncollectible' | 'open';

export interface DunningPolicy {
  /** Days after the first try at which each retry runs, ascending; tries = retries + 1. */
  retry_days: readonly number[];
  /** What the subscription becomes when the tries run out (Stripe's default: cancel). */
  subscription_end: SubscriptionEnd;
  /** What the invoice becomes then: marked uncollectible, or left open (past due). */
  invoice_end: InvoiceEnd;
}

const DAY_S = 86_400;
/** Stripe's Smart Retries allow at most 8 tries and at most two months. */
export const DUNNING_LIMITS = { retries_max: 7, window_days_max: 60 } as const;

export const DEFAULT_DUNNING_POLICY: DunningPolicy = {
  retry_days: [1, 2, 3, 5, 7, 10, 14],
  subscription_end: 'cancel',
  invoice_end: 'uncollectible',
};

/**
 * Decline codes after which a retry cannot succeed: the card is gone or the issuer forbids it (Visa's
 * category 1, Mastercard's "do not try again" advice, and Stripe's own non-retryable codes).
 */
const HARD_DECLINES: ReadonlySet<string> = new Set([
  'fraudulent',
  'incorrect_number',
  'invalid_account',
  'invalid_number',
  'lost_card',
  'merchant_blacklist',
  'pickup_card',
  'restricted_card',
  'revocation_of_all_authorizations',
  'revocation_of_authorization',
  'security_violation',
  'stolen_card',
  'stop_payment_order',
]);

export function isHardDecline(decline_code: string | null): boolean {
  return decline_code !== null && HARD_DECLINES.has(decline_code);
}

/** Why the policy is unusable, or null. */
export function policyProblem(policy: DunningPolicy): string | null {
  const days = policy.retry_days;
  if (days.length > DUNNING_LIMITS.retries_max) return `At most ${DUNNING_LIMITS.retries_max} retries (8 tries in all).`;
  if (!days.every((day) => Number.isSafeInteger(day) && day >= 1 && day <= DUNNING_LIMITS.window_days_max))
    return `Each retry is a whole number of days from 1 to ${DUNNING_LIMITS.window_days_max}.`;
  if (!days.every((day, index) => index === 0 || day > (days[index - 1] ?? 0))) return 'Retry days must increase.';
  return null;
}

/** A failed try, as the dunning decision sees it. */
export interface FailedTry {
  /** When the invoice was first tried (its renewal), unix seconds. */
  first_try_at: number;
  /** Tries made so far, this one included (1 after the first failure). */
  attempt_count: number;
  decline_code: string | null;
}

export type DunningStep = { next: 'retry'; at: number } | { next: 'end'; reason: 'hard_decline' | 'tries_exhausted' };

/** After a failed try: when to try again, or that the dunning is over. */
export function afterFailure(policy: DunningPolicy, failed: FailedTry): DunningStep {
  assert(policyProblem(policy) === null, 'dunning policy checked when stored');
  assert(Number.isSafeInteger(failed.attempt_count) && failed.attempt_count >= 1, 'a failure follows a try');
  if (isHardDecline(failed.decline_code)) return { next: 'end', reason: 'hard_decline' };
  const retry_day = policy.retry_days[failed.attempt_count - 1];
  if (retry_day === undefined) return { next: 'end', reason: 'tries_exhausted' };
  return { next: 'retry', at: failed.first_try_at + retry_day * DAY_S };
}

/** `customer.subscription.trial_will_end`: three days before the trial ends, or at once for a shorter trial. */
export const TRIAL_NOTICE_S = 3 * DAY_S;

export function trialNoticeAt(trial_start: number, trial_end: number): number {
  assert(trial_end > trial_start, 'a trial has a length');
  return Math.max(trial_start, trial_end - TRIAL_NOTICE_S);
}

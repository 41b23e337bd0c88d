import { PayrailError } from '../../../kernel/errors.js';
import type { Period, Recurrence } from './periods.js';
import { boundary } from './periods.js';
import { remaining } from './proration.js';
import { MAX_TRIAL_S } from './subscription.js';

/**
 * A new subscription's first period, as Stripe starts one (pure):
 * - with a trial: the trial is the first period, free, and its end anchors the billing cycle;
 * - with a future `billing_cycle_anchor`: a short first period up to the anchor, billed prorated
 *   (or free with `proration_behavior=none`), then whole periods from the anchor;
 * - otherwise the subscription's start anchors the cycle and the first period is whole.
 */

export interface StartRequest {
  now_s: number;
  recurrence: Recurrence;
  /** A trial's end: from `trial_end`, or `trial_period_days` counted from now. */
  trial_end: number | null;
  billing_cycle_anchor: number | null;
  prorate: boolean;
}

export interface Start {
  billing_cycle_anchor: number;
  period: Period;
  trial: Period | null;
  /** What share of a whole period's amount the first invoice bills: the whole, a prorated part, or nothing. */
  billing: 'whole' | 'prorated' | 'free';
}

export function planStart(request: StartRequest): Start {
  const { now_s, recurrence, trial_end, billing_cycle_anchor } = request;
  if (trial_end !== null) {
    if (billing_cycle_anchor !== null) {
      throw new PayrailError('parameter_invalid', {
        param: 'billing_cycle_anchor',
        message: 'Payrail does not yet combine a trial with a billing_cycle_anchor: the trial’s end anchors the billing cycle.',
      });
    }
    const trial = { start: now_s, end: trial_end };
    return { billing_cycle_anchor: trial_end, period: trial, trial, billing: 'free' };
  }
  if (billing_cycle_anchor !== null) {
    const natural = boundary(now_s, recurrence, 1);
    if (billing_cycle_anchor > natural) {
      throw new PayrailError('parameter_invalid', {
        param: 'billing_cycle_anchor',
        message: `billing_cycle_anchor cannot be later than next natural billing date (${natural}) for plan`,
      });
    }
    if (billing_cycle_anchor > now_s) {
      return {
        billing_cycle_anchor,
        period: { start: now_s, end: billing_cycle_anchor },
        trial: null,
        billing: request.prorate ? 'prorated' : 'free',
      };
    }
  }
  return { billing_cycle_anchor: now_s, period: { start: now_s, end: boundary(now_s, recurrence, 1) }, trial: null, billing: 'whole' };
}

/** What the first invoice bills for an item whose whole-period amount is `amount`. */
export function firstAmount(start: Start, recurrence: Recurrence, amount: number): number {
  if (start.billing === 'free') return 0;
  if (start.billing === 'whole') return amount;
  // The short period is the tail of the whole period that ends at the anchor.
  const whole = { start: boundary(start.billing_cycle_anchor, recurrence, -1), end: start.billing_cycle_anchor };
  return remaining(amount, whole, start.period.start);
}

/** Stripe's checks on `trial_end` (and `trial_period_days`, turned into one): in the future, at most 730 days ahead. */
export function checkTrialEnd(trial_end: number, now_s: number, param: string): number {
  if (trial_end <= now_s) {
    throw new PayrailError('parameter_invalid', { param, message: 'Invalid timestamp: must be an integer Unix timestamp in the future.' });
  }
  if (trial_end > now_s + MAX_TRIAL_S) {
    throw new PayrailError('parameter_invalid', { param, message: 'Invalid timestamp: can be no more than 730 days in the future.' });
  }
  return trial_end;
}

import { assert } from '../../../kernel/assert.js';
import { MAX_AMOUNT } from '../../../kernel/money.js';
import type { Period } from './periods.js';

/**
 * Proration, in integer minor units, with one rounding rule: the part of a period's amount that
 * covers the time from `at` to the period's end is
 *
 *     remaining(amount, period, at) = round_half_up(amount × (end − at) ÷ (end − start))
 *
 * computed exactly (BigInt), by the second, as Stripe prorates. Every proration is a difference of
 * two `remaining` values, so the pieces of one period telescope: however a period is cut, its pieces
 * sum to the full amount, never a minor unit more or less. A change at `at` credits the old amount's
 * remaining part and charges the new amount's remaining part.
 */

export interface ProrationLine {
  /** Negative: a credit for time paid for and not used. */
  amount: number;
  /** The time the line covers: from the change to the period's end. */
  period: Period;
  kind: 'unused_time' | 'remaining_time';
}

export function remaining(amount: number, period: Period, at_s: number): number {
  assert(Number.isSafeInteger(amount) && amount >= 0, 'prorated amount must be a non-negative integer');
  assert(period.end > period.start, 'period must have a length');
  const at = Math.min(Math.max(at_s, period.start), period.end);
  const length = BigInt(period.end - period.start);
  const scaled = BigInt(amount) * BigInt(period.end - at);
  // round half up: (2 × scaled + length) ÷ (2 × length), floored.
  return Number((2n * scaled + length) / (2n * length));
}

/** The amount for the part of `period` from `from_s` to `to_s`: remaining(from) − remaining(to). */
export function portion(amount: number, period: Period, from_s: number, to_s: number): number {
  assert(from_s <= to_s, 'portion runs backwards');
  return remaining(amount, period, from_s) - remaining(amount, period, to_s);
}

/**
 * What a change from `before` to `after` (an item's amount per period: unit price × quantity) at
 * `at_s` costs for the rest of the period: a credit for the unused time of the old amount and a charge
 * for the remaining time of the new one, as Stripe itemizes them. No lines when nothing is left.
 */
export function prorateChange(before: number, after: number, period: Period, at_s: number): ProrationLine[] {
  assert(after <= MAX_AMOUNT * 1_000_000 && before <= MAX_AMOUNT * 1_000_000, 'amount per period out of range');
  if (at_s >= period.end) return [];
  const covered: Period = { start: Math.max(at_s, period.start), end: period.end };
  const lines: ProrationLine[] = [];
  const credit = remaining(before, period, at_s);
  const charge = remaining(after, period, at_s);
  if (credit > 0) lines.push({ amount: -credit, period: covered, kind: 'unused_time' });
  if (charge > 0) lines.push({ amount: charge, period: covered, kind: 'remaining_time' });
  return lines;
}

import { assert } from '../../../kernel/assert.js';

/**
 * Billing periods, as Stripe counts them: every period boundary is the billing cycle anchor plus a
 * whole number of intervals, computed from the anchor (never from the previous boundary), in UTC,
 * keeping the anchor's time of day. A month or year step lands on the anchor's day of the month, or
 * on the last day of a shorter month: an anchor on 31 January bills on 28 (or 29) February, then on
 * 31 March, 30 April, 31 May. Pure: no clock.
 */

export type BillingInterval = 'day' | 'week' | 'month' | 'year';

export interface Recurrence {
  interval: BillingInterval;
  interval_count: number;
}

export interface Period {
  start: number;
  end: number;
}

/** Stripe's limit: at most one year between billings (365 days, 52 weeks, 12 months, 1 year). */
export const MAX_INTERVAL_COUNT: Readonly<Record<BillingInterval, number>> = { day: 365, week: 52, month: 12, year: 1 };
/** Boundaries further than this many periods from the anchor are a bug (1,000 years of daily billing). */
export const MAX_PERIOD_INDEX = 365_000;

const DAY_S = 86_400;

export function checkRecurrence(recurrence: Recurrence): Recurrence {
  const { interval, interval_count } = recurrence;
  assert(Number.isSafeInteger(interval_count) && interval_count >= 1 && interval_count <= MAX_INTERVAL_COUNT[interval], 'interval_count out of range');
  return recurrence;
}

/** The n-th boundary after (n > 0) or before (n < 0) the anchor; boundary 0 is the anchor itself. */
export function boundary(anchor_s: number, recurrence: Recurrence, n: number): number {
  checkRecurrence(recurrence);
  assert(Number.isSafeInteger(anchor_s) && Number.isSafeInteger(n) && Math.abs(n) <= MAX_PERIOD_INDEX, 'boundary out of range');
  const steps = n * recurrence.interval_count;
  switch (recurrence.interval) {
    case 'day':
      return anchor_s + steps * DAY_S;
    case 'week':
      return anchor_s + steps * 7 * DAY_S;
    case 'month':
      return addMonths(anchor_s, steps);
    case 'year':
      return addMonths(anchor_s, steps * 12);
  }
}

/** The n-th period from the anchor: period 0 starts at the anchor. Renewals bill period after period. */
export function nextPeriod(anchor_s: number, interval: BillingInterval, interval_count: number, n: number): Period {
  const recurrence = { interval, interval_count };
  return { start: boundary(anchor_s, recurrence, n), end: boundary(anchor_s, recurrence, n + 1) };
}

/** The index of the period holding `at_s`: boundary(n) <= at_s < boundary(n + 1). */
export function periodIndexAt(anchor_s: number, recurrence: Recurrence, at_s: number): number {
  const approximate_s = approximateLength(recurrence);
  let n = Math.floor((at_s - anchor_s) / approximate_s);
  // From the average length, the estimate is off by at most a period or two (months differ by three days at most).
  for (let guard = 0; boundary(anchor_s, recurrence, n) > at_s; guard++) {
    assert(guard < 4, 'period estimate too far ahead');
    n--;
  }
  for (let guard = 0; boundary(anchor_s, recurrence, n + 1) <= at_s; guard++) {
    assert(guard < 4, 'period estimate too far behind');
    n++;
  }
  return n;
}

/** The period holding `at_s`, counted from the anchor. */
export function periodAt(anchor_s: number, recurrence: Recurrence, at_s: number): Period {
  return nextPeriod(anchor_s, recurrence.interval, recurrence.interval_count, periodIndexAt(anchor_s, recurrence, at_s));
}

function approximateLength(recurrence: Recurrence): number {
  // Gregorian averages: 365.2425 days a year, a twelfth of that a month.
  const per_step = { day: DAY_S, week: 7 * DAY_S, month: (365.2425 * DAY_S) / 12, year: 365.2425 * DAY_S }[recurrence.interval];
  return per_step * recurrence.interval_count;
}

function addMonths(anchor_s: number, months: number): number {
  const anchor = new Date(anchor_s * 1000);
  const month_index = anchor.getUTCFullYear() * 12 + anchor.getUTCMonth() + months;
  const year = Math.floor(month_index / 12);
  const month = month_index - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  const time_of_day_ms = anchor_s * 1000 - Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate());
  return (Date.UTC(year, month, day) + time_of_day_ms) / 1000;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

import { DAY_S } from './payout.js';

/**
 * Stripe's `settings.payouts.schedule` and the one decision automatic payouts need: is a merchant's
 * run due on a given UTC day. Pure: the day comes from the injected clock.
 */

export const PAYOUT_INTERVALS = ['manual', 'daily', 'weekly', 'monthly'] as const;
export type PayoutInterval = (typeof PAYOUT_INTERVALS)[number];
export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface PayoutSchedule {
  interval: PayoutInterval;
  /** Days from a charge until its funds are available (Stripe's default for US accounts: 2). */
  delay_days: number;
  weekly_anchor: Weekday | null;
  monthly_anchor: number | null;
}

export const DELAY_DAYS_MAX = 60;

/** Stripe's default for a new account: daily, two days after the charge. */
export const DEFAULT_SCHEDULE: PayoutSchedule = { interval: 'daily', delay_days: 2, weekly_anchor: null, monthly_anchor: null };

/** Changes as `POST /v1/accounts/:id` sends them; anchors default as Stripe's do (monday, the 1st). */
export function updateSchedule(
  current: PayoutSchedule,
  change: {
    interval?: PayoutInterval | undefined;
    delay_days?: number | 'minimum' | undefined;
    weekly_anchor?: Weekday | undefined;
    monthly_anchor?: number | undefined;
  },
): PayoutSchedule {
  const interval = change.interval ?? current.interval;
  const delay_days = change.delay_days === 'minimum' ? DEFAULT_SCHEDULE.delay_days : (change.delay_days ?? current.delay_days);
  return {
    interval,
    delay_days,
    weekly_anchor: interval === 'weekly' ? (change.weekly_anchor ?? current.weekly_anchor ?? 'monday') : null,
    monthly_anchor: interval === 'monthly' ? (change.monthly_anchor ?? current.monthly_anchor ?? 1) : null,
  };
}

export function renderSchedule(schedule: PayoutSchedule): Record<string, unknown> {
  return {
    delay_days: schedule.delay_days,
    interval: schedule.interval,
    ...(schedule.interval === 'weekly' ? { weekly_anchor: schedule.weekly_anchor } : {}),
    ...(schedule.interval === 'monthly' ? { monthly_anchor: schedule.monthly_anchor } : {}),
  };
}

/** The UTC day `time_s` falls in, as YYYY-MM-DD: the key of a scheduled run. */
export function runDate(time_s: number): string {
  return new Date(Math.floor(time_s / DAY_S) * DAY_S * 1000).toISOString().slice(0, 10);
}

/**
 * Whether the schedule pays out on the UTC day of `time_s`. A monthly anchor past the month's last
 * day pays out on the last day (Stripe: "the last day of shorter months").
 */
export function isRunDue(schedule: PayoutSchedule, time_s: number): boolean {
  const day = new Date(Math.floor(time_s / DAY_S) * DAY_S * 1000);
  switch (schedule.interval) {
    case 'manual':
      return false;
    case 'daily':
      return true;
    case 'weekly':
      return WEEKDAYS[day.getUTCDay()] === (schedule.weekly_anchor ?? 'monday');
    case 'monthly': {
      const last = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
      return day.getUTCDate() === Math.min(schedule.monthly_anchor ?? 1, last);
    }
  }
}

import { assert } from '../../../kernel/assert.js';

/**
 * When a failed webhook delivery is tried again: exponential backoff with jitter, capped per interval,
 * given up after an age and a number of attempts. Pure: time and randomness come in.
 *
 * Default: 8 s × 3ⁿ (8 s, 24 s, 72 s, 3.6 min, 11 min, 32 min) then hourly, each interval shortened by
 * up to 25 % at random (so the first retry comes 6–8 s after the failure, and retries of many
 * deliveries that failed together spread out), for up to 3 days and at most 100 attempts.
 */
export interface RetrySchedule {
  /** Base interval after the first failed attempt. */
  first_retry_ms: number;
  /** Each further failure multiplies the interval by this. */
  multiplier: number;
  /** The interval stops growing here. */
  max_interval_ms: number;
  /** No attempt is scheduled later than this after the delivery (or its resend) started. */
  give_up_after_ms: number;
  /** Attempts per delivery (or resend), the first included. */
  attempts_max: number;
  /** Fraction in [0, 1): each interval is shortened by up to this share, at random. */
  jitter: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  first_retry_ms: 8_000,
  multiplier: 3,
  max_interval_ms: 60 * 60_000,
  give_up_after_ms: 3 * 24 * 60 * 60_000,
  attempts_max: 100,
  jitter: 0.25,
};

export const RETRY_LIMITS = {
  /** The first retry must come within 10 s (after jitter it comes no later than first_retry_ms). */
  first_retry_ms_max: 10_000,
  attempts_max: 1_000,
  give_up_after_ms_max: 30 * 24 * 60 * 60_000,
} as const;

export function checkSchedule(schedule: RetrySchedule): RetrySchedule {
  assert(
    Number.isFinite(schedule.first_retry_ms) && schedule.first_retry_ms >= 1 && schedule.first_retry_ms <= RETRY_LIMITS.first_retry_ms_max,
    'first_retry_ms must be 1 ms to 10 s',
  );
  assert(Number.isFinite(schedule.multiplier) && schedule.multiplier >= 1 && schedule.multiplier <= 100, 'multiplier must be 1 to 100');
  assert(Number.isFinite(schedule.max_interval_ms) && schedule.max_interval_ms >= schedule.first_retry_ms, 'max_interval_ms must be at least first_retry_ms');
  assert(
    Number.isFinite(schedule.give_up_after_ms) && schedule.give_up_after_ms >= 1 && schedule.give_up_after_ms <= RETRY_LIMITS.give_up_after_ms_max,
    'give_up_after_ms out of range',
  );
  assert(
    Number.isInteger(schedule.attempts_max) && schedule.attempts_max >= 1 && schedule.attempts_max <= RETRY_LIMITS.attempts_max,
    'attempts_max must be 1 to 1000',
  );
  assert(Number.isFinite(schedule.jitter) && schedule.jitter >= 0 && schedule.jitter < 1, 'jitter must be in [0, 1)');
  return schedule;
}

/** The wait after the `failures`-th failed attempt (1 = the first), before jitter is applied. */
export function baseInterval_ms(schedule: RetrySchedule, failures: number): number {
  assert(Number.isInteger(failures) && failures >= 1, 'failures counts from 1');
  // Past ~60 failures the power overflows to Infinity, which min() turns into the cap.
  return Math.min(schedule.max_interval_ms, schedule.first_retry_ms * schedule.multiplier ** (failures - 1));
}

export type NextStep = { kind: 'retry'; at_ms: number } | { kind: 'give_up'; reason: 'attempts' | 'age' };

/**
 * After a failed attempt: when to try again, or give up. `failures` counts this round's failed
 * attempts including this one; `random` returns [0, 1).
 */
export function afterFailure(schedule: RetrySchedule, state: { failures: number; round_started_ms: number; now_ms: number }, random: () => number): NextStep {
  if (state.failures >= schedule.attempts_max) return { kind: 'give_up', reason: 'attempts' };
  const r = random();
  assert(r >= 0 && r < 1, 'random must return [0, 1)');
  const wait_ms = Math.max(1, Math.round(baseInterval_ms(schedule, state.failures) * (1 - schedule.jitter * r)));
  const at_ms = state.now_ms + wait_ms;
  if (at_ms - state.round_started_ms > schedule.give_up_after_ms) return { kind: 'give_up', reason: 'age' };
  return { kind: 'retry', at_ms };
}

/**
 * Reads a schedule override from text, e.g. `first=5s,multiplier=2,max=30m,for=1d,attempts=50,jitter=0.2`
 * (PAYRAIL_WEBHOOK_RETRY). Units: ms, s, m, h, d. Unnamed fields keep their defaults.
 */
export function parseSchedule(text: string, base: RetrySchedule = DEFAULT_RETRY_SCHEDULE): RetrySchedule {
  const schedule = { ...base };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const [key, value] = part.split('=', 2).map((p) => p.trim());
    if (!key || value === undefined) throw new Error(`webhook retry schedule: "${part}" is not key=value`);
    switch (key) {
      case 'first':
        schedule.first_retry_ms = duration_ms(value);
        break;
      case 'multiplier':
        schedule.multiplier = Number(value);
        break;
      case 'max':
        schedule.max_interval_ms = duration_ms(value);
        break;
      case 'for':
        schedule.give_up_after_ms = duration_ms(value);
        break;
      case 'attempts':
        schedule.attempts_max = Number(value);
        break;
      case 'jitter':
        schedule.jitter = Number(value);
        break;
      default:
        throw new Error(`webhook retry schedule: unknown field "${key}" (first, multiplier, max, for, attempts, jitter)`);
    }
  }
  try {
    return checkSchedule(schedule);
  } catch (error) {
    throw new Error(`webhook retry schedule "${text}": ${(error as Error).message}`, { cause: error });
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration_ms(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`webhook retry schedule: "${text}" is not a duration like 500ms, 8s, 1h or 3d`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1));
}

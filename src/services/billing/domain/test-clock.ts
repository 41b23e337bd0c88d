import { assert } from '../../../kernel/assert.js';

/**
 * Stripe's test clock (`test_helpers.test_clock`), test mode only: a simulated time a merchant moves
 * forward (`frozen_time`) for the customers attached to it and their subscriptions and invoices. An
 * advance sets the new `frozen_time` and the status `advancing` at once; the billing work due up to
 * it then runs in time order (`billed_to` is how far it got), and the clock is `ready` again. The
 * platform's own day jobs (settlement, release, payouts) follow the injected clock of
 * `startPlatform`, never a merchant's test clock: one merchant's simulated time must not move money
 * for others.
 */
export interface TestClock {
  merchant_id: string;
  id: string;
  created: number;
  deletes_after: number;
  frozen_time: number;
  name: string | null;
  status: 'advancing' | 'internal_failure' | 'ready';
  /** The clock time up to which billing work has run: `frozen_time` once ready, behind it while advancing. */
  billed_to: number;
  version: number;
}

const DAY_S = 86_400;
export const TEST_CLOCK_LIMITS = {
  /** Stripe deletes a test clock 30 days after it was created. */
  lifetime_s: 30 * DAY_S,
  /** Without subscriptions, Stripe refuses an advance of more than two years. */
  advance_max_s: 2 * 365 * DAY_S,
  name_max: 300,
  /** frozen_time: unix seconds, up to the year 9999. */
  time_max: 253_402_300_799,
} as const;

export function newTestClock(fields: { merchant_id: string; id: string; now_s: number; frozen_time: number; name: string | null }): TestClock {
  return {
    merchant_id: fields.merchant_id,
    id: fields.id,
    created: fields.now_s,
    deletes_after: fields.now_s + TEST_CLOCK_LIMITS.lifetime_s,
    frozen_time: fields.frozen_time,
    name: fields.name,
    status: 'ready',
    billed_to: fields.frozen_time,
    version: 1,
  };
}

/** The clock set to `frozen_time` and `advancing`: the billing work up to it runs after the commit. */
export function startAdvance(clock: TestClock, frozen_time: number): TestClock {
  assert(advanceProblem(clock, frozen_time) === null, 'advance checked first');
  return { ...clock, frozen_time, status: 'advancing', version: clock.version + 1 };
}

/** The clock's objects move to `to` (the next due work's time), before that work runs. */
export function stepTo(clock: TestClock, to: number): TestClock {
  assert(clock.status === 'advancing' && to >= clock.billed_to && to <= clock.frozen_time, 'billing moves forward within the advance');
  return { ...clock, billed_to: to, version: clock.version + 1 };
}

/** No work is left up to the target: the clock's objects are at `frozen_time`, and the clock is ready. */
export function finishAdvance(clock: TestClock): TestClock {
  assert(clock.status === 'advancing', 'only an advance finishes');
  return { ...clock, billed_to: clock.frozen_time, status: 'ready', version: clock.version + 1 };
}

/** The advance gave up (a step kept failing): Stripe's `internal_failure`; the clock's objects stay as they were at `billed_to`. */
export function failAdvance(clock: TestClock): TestClock {
  assert(clock.status === 'advancing', 'only an advance fails');
  return { ...clock, status: 'internal_failure', version: clock.version + 1 };
}

/** Why the clock cannot advance to `frozen_time`, or null. */
export function advanceProblem(clock: TestClock, frozen_time: number): string | null {
  if (clock.status === 'advancing') return 'The test clock is still advancing: wait until its status is ready before advancing it again.';
  if (clock.status === 'internal_failure') return 'The test clock failed to advance (internal_failure); delete it and create a new one.';
  if (frozen_time <= clock.frozen_time) return `The test clock can only move forward: frozen_time must be after ${clock.frozen_time}.`;
  if (frozen_time - clock.frozen_time > TEST_CLOCK_LIMITS.advance_max_s) return 'A test clock cannot be advanced more than two years at once.';
  return null;
}

export function renderTestClock(clock: TestClock): Record<string, unknown> {
  return {
    id: clock.id,
    object: 'test_helpers.test_clock',
    created: clock.created,
    deletes_after: clock.deletes_after,
    frozen_time: clock.frozen_time,
    livemode: false,
    name: clock.name,
    status: clock.status,
  };
}

/** Where the clock's customers and their subscriptions are in time: `billed_to` (the target is `frozen_time`). */
export function clockNow(clock: Pick<TestClock, 'billed_to'>): number {
  return clock.billed_to;
}

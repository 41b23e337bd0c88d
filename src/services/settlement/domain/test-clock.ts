/**
 * Stripe's test clock (`test_helpers.test_clock`), test mode only: a simulated time a merchant moves
 * forward (`frozen_time`), for the objects attached to it. Payrail attaches nothing to test clocks yet
 * (subscriptions and invoices, which Stripe's advance drives, come with billing), so advancing moves
 * the clock's time and the clock is `ready` at once. The platform's own day jobs (settlement, release,
 * payouts) follow the injected clock of `startPlatform`, never a merchant's test clock: one merchant's
 * simulated time must not move money for others.
 */
export interface TestClock {
  merchant_id: string;
  id: string;
  created: number;
  deletes_after: number;
  frozen_time: number;
  name: string | null;
  status: 'advancing' | 'internal_failure' | 'ready';
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
    version: 1,
  };
}

/** Why the clock cannot advance to `frozen_time`, or null. */
export function advanceProblem(clock: TestClock, frozen_time: number): string | null {
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

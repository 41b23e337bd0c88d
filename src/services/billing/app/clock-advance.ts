import type { PoolClient } from 'pg';
import type { Clock } from '../../../kernel/clock.js';
import type { Logger } from '../../../platform/logger.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { TestClock } from '../domain/test-clock.js';
import { failAdvance, finishAdvance, stepTo } from '../domain/test-clock.js';
import { nextDueOnClock } from '../adapters/due-store.js';
import { getTestClock, updateTestClock } from '../adapters/test-clock-store.js';
import type { BillingDeps } from './deps.js';
import { runDueBatch } from './billing-work.js';
import { lostRace } from './renewals.js';
import { clockEvents } from './test-clocks.js';

/**
 * Advancing a test clock, after `POST …/advance` committed its target (status `advancing`): the
 * billing work of the clock's customers runs in time order. At each step the clock's objects move to
 * the next due time (`billed_to`), then everything due by then runs with the billing deps' clock fixed
 * at that time — so a renewal, a payment try or a trial notice carries the clock's time, as in Stripe
 * — until nothing is due up to the target; then the clock is `ready` (`test_helpers.test_clock.ready`).
 * One runner per clock at a time (a session advisory lock); a runner that dies leaves the clock
 * `advancing` with its progress in `billed_to`, and the billing job's next run picks it up.
 */
export const CLOCK_ADVANCE_LIMITS = {
  /** Due times one advance may step through (a year of daily renewals with dunning fits). */
  steps_max: 5_000,
  /** Consecutive runs of one step that leave its work failed before the clock is given up (`internal_failure`). */
  step_failures_max: 3,
  /** Batches run at one step before moving on (each up to the work batch size per kind). */
  batches_per_step_max: 1_000,
} as const;

/** Billing deps whose time stands at `now_s`: the clock's time for the work of one step. */
export function depsAt(deps: BillingDeps, now_s: number): BillingDeps {
  const clock: Clock = { now_ms: () => now_s * 1000 };
  return { ...deps, clock, write: { ...deps.write, clock } };
}

/** Runs the clock's advance to its end, unless another runner holds it. Never throws: failures are logged and left for the job. */
export async function advanceClock(deps: BillingDeps, merchant_id: string, clock_id: string, logger: Logger): Promise<void> {
  let client: PoolClient | undefined;
  let locked = false;
  try {
    client = await deps.lookup.connect();
    const key = `billing-test-clock:${clock_id}`;
    locked = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key])).rows[0]?.locked === true;
    if (locked) await withMerchant(merchant_id, () => runAdvance(deps, merchant_id, clock_id, logger));
  } catch (error) {
    logger.warn({ err: error, test_clock: clock_id }, 'billing: test clock advance interrupted; the billing job resumes it');
  } finally {
    if (locked) await client?.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    client?.release();
  }
}

async function runAdvance(deps: BillingDeps, merchant_id: string, clock_id: string, logger: Logger): Promise<void> {
  let failures = 0;
  for (let step = 0; step < CLOCK_ADVANCE_LIMITS.steps_max; step++) {
    const clock = await getTestClock(deps.reader, merchant_id, clock_id, Math.floor(deps.clock.now_ms() / 1000));
    if (clock.status !== 'advancing') return;
    const next = await nextDueOnClock(deps.reader, merchant_id, clock_id);
    if (next === null || next > clock.frozen_time) {
      await commitClock(deps, clock, finishAdvance(clock), ['ready']);
      return;
    }
    const at = Math.max(next, clock.billed_to);
    if (at > clock.billed_to) await commitClock(deps, clock, stepTo(clock, at), []);
    const clean = await runStep(depsAt(deps, at), merchant_id, clock_id, at, logger);
    failures = clean ? 0 : failures + 1;
    if (failures >= CLOCK_ADVANCE_LIMITS.step_failures_max) break;
  }
  const clock = await getTestClock(deps.reader, merchant_id, clock_id, Math.floor(deps.clock.now_ms() / 1000));
  if (clock.status !== 'advancing') return;
  logger.error({ test_clock: clock_id, billed_to: clock.billed_to }, 'billing: test clock advance failed; the clock is internal_failure');
  await commitClock(deps, clock, failAdvance(clock), ['internal_failure']);
}

/** Everything due at `at` on the clock; false when some of it failed (it stays due). */
async function runStep(deps: BillingDeps, merchant_id: string, clock_id: string, at: number, logger: Logger): Promise<boolean> {
  for (let batch = 0; batch < CLOCK_ADVANCE_LIMITS.batches_per_step_max; batch++) {
    const done = await runDueBatch(deps, { kind: 'clock', merchant_id, clock_id }, at, logger);
    if (done.failed > 0) return false;
    if (done.found === 0) return true;
  }
  return false;
}

async function commitClock(deps: BillingDeps, before: TestClock, after: TestClock, events: ('ready' | 'internal_failure')[]): Promise<void> {
  const change = async (ctx: OperationContext): Promise<Outcome> => {
    const outcome: Outcome = { ok: { id: after.id } };
    const writes = [updateTestClock(after, before.version)];
    if (events.length > 0) writes.push(clockEvents(ctx, after, events));
    await ctx.commit(writes, outcome);
    return outcome;
  };
  try {
    await execute(deps.write, { merchant_id: before.merchant_id, request_id: `test-clock-advance-${before.id}` }, { reserves: [], run: change }, {});
  } catch (error) {
    // Another runner moved the clock first: the next loop reads where it stands.
    if (!lostRace(error)) throw error;
  }
}

import type { Logger } from '../../../platform/logger.js';
import type { Scheduler } from '../../../platform/scheduler.js';
import { advancingClocks } from '../adapters/test-clock-store.js';
import type { BillingDeps } from './deps.js';
import type { WorkDone } from './billing-work.js';
import { noWork, runDueBatch } from './billing-work.js';
import { advanceClock } from './clock-advance.js';

/**
 * Billing's scheduled job: every second, one process at a time (the scheduler's `every`), the work
 * due on the wall clock — renewals, payment tries, trial notices, expiries — batch after batch until
 * none is due or the run's time budget is spent (the next run goes on), then the test clocks left
 * advancing (an advance whose process died). Each piece of work is guarded on its own, so a run that
 * dies half way, or a second process running the same work, bills nothing twice.
 */
export const BILLING_JOB = 'billing-due-work';
export const BILLING_JOB_INTERVAL_MS = 1_000;
/** A run stops taking new batches after this long, well within the job's timeout. */
export const BILLING_RUN_BUDGET_MS = 20_000;
export const BILLING_JOB_TIMEOUT_MS = 60_000;
/** Clocks a run finishes advancing, at most. */
const CLOCKS_PER_RUN = 20;

export function scheduleBillingWork(deps: BillingDeps, scheduler: Scheduler, logger: Logger): void {
  scheduler.every(BILLING_JOB, { interval_ms: BILLING_JOB_INTERVAL_MS }, () => runBillingWork(deps, logger).then(() => undefined), {
    timeout_ms: BILLING_JOB_TIMEOUT_MS,
  });
}

/** One run of the job (tests and the bench call it by hand). */
export async function runBillingWork(deps: BillingDeps, logger: Logger, budget_ms = BILLING_RUN_BUDGET_MS): Promise<WorkDone> {
  const started_ms = Date.now();
  const total = noWork();
  for (;;) {
    const now_s = Math.floor(deps.clock.now_ms() / 1000);
    const batch = await runDueBatch(deps, { kind: 'wall' }, now_s, logger);
    for (const key of Object.keys(total) as (keyof WorkDone)[]) total[key] += batch[key];
    // Nothing due, or only failures (due again next run) and items another runner holds: this run is done.
    if (batch.found === batch.failed + batch.busy || Date.now() - started_ms > budget_ms) break;
  }
  for (const clock of await advancingClocks(deps.lookup, CLOCKS_PER_RUN)) {
    if (Date.now() - started_ms > budget_ms) break;
    await advanceClock(deps, clock.merchant_id, clock.id, logger);
  }
  if (total.renewed + total.tried + total.noticed + total.expired + total.failed + total.busy > 0) logger.info({ ...total }, 'billing: due work done');
  return total;
}

import type { Config } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startPlatform } from '../../src/compose.js';

/**
 * A Payrail server process (test/e2e/billing-renewal-crash.test.ts): the whole platform, its
 * scheduler's billing job included, on a clock RENEWAL_CLOCK_OFFSET_S ahead of the wall clock, so the
 * subscriptions the test made are due. Besides the scheduled job (one process at a time) it runs the
 * billing job's work itself in a loop, so two of these race over the same due work for real. The clock
 * jumps ahead when the test writes a line to stdin (both servers up). Exits 0 once two runs in a row
 * found nothing left, not even work another server holds (3 if it ran out of runs first); the test
 * SIGKILLs one of them half way.
 */
const config = JSON.parse(process.env.RENEWAL_CRASH_CONFIG ?? '{}') as Config;
const offset_ms = Number(process.env.RENEWAL_CLOCK_OFFSET_S) * 1000;
if (!Number.isSafeInteger(offset_ms) || offset_ms <= 0) throw new Error('RENEWAL_CLOCK_OFFSET_S must be a positive whole number of seconds');
const RUNS_MAX = 10_000;
/** The pause after a run whose only items were another runner's: the test's wait limit still bounds the whole. */
const BUSY_PAUSE_MS = 100;
const RUNS_EXHAUSTED_EXIT_CODE = 3;

// Until the test says go (a line on stdin, once both servers are up), the clock is the wall clock and nothing is due.
let go = false;
const went = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const clock = { now_ms: () => Date.now() + (go ? offset_ms : 0) };
const platform = await startPlatform({ ...config, port: 0, metrics_port: 0 }, { clock, logger: createLogger('warn'), metrics: false });
process.stdout.write('renewal-child-ready\n');
await went;
go = true;
let idle_runs = 0;
for (let run = 0; run < RUNS_MAX && idle_runs < 2; run++) {
  const done = await platform.billing.runDue();
  // Items another runner holds (`busy`) are still to do: the dead server's tries wait for its lease to
  // go, which takes the sweeper tens of seconds; polling for them at full speed would use up the runs first.
  idle_runs = done.renewed + done.tried + done.failed + done.busy === 0 ? idle_runs + 1 : 0;
  if (done.busy > 0 && done.renewed + done.tried === 0) await new Promise((resolve) => setTimeout(resolve, BUSY_PAUSE_MS));
}
await platform.stop();
// Out of runs with work still due is not an end: the test sees a code of its own.
process.exit(idle_runs >= 2 ? 0 : RUNS_EXHAUSTED_EXIT_CODE);

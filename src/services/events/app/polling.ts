import { assert } from '../../../kernel/assert.js';
import { Alarm } from '../../../platform/alarm.js';

export interface PollingOptions {
  /** First wait after a step that found nothing to do; doubles per idle step up to `idle_max_ms`. */
  idle_ms: number;
  /**
   * Longest idle wait (default `idle_ms`). It bounds how late the loop finds work no wake announces:
   * commits of other processes (the API and the consumers may run apart).
   */
  idle_max_ms?: number;
  /**
   * Subscribes the loop to a wake-up (the commit signal) and returns the unsubscribe: a wake ends an
   * idle wait at once, and one arriving during a step makes the loop skip the wait after it.
   */
  wake_on?: (wake: () => void) => () => void;
  /**
   * Part of every idle wait no wake cuts short (default `idle_ms`): under load, commits come faster
   * than rounds, and while their events are not yet readable (an older transaction is still open)
   * wakes would otherwise run empty rounds back to back. So a woken loop never polls more often than
   * it did before wakes existed; it only stops waiting longer.
   */
  wake_gap_ms?: number;
  /** First wait after a failure; doubles per consecutive failure up to `backoff_max_ms`. */
  backoff_ms: number;
  backoff_max_ms: number;
  onError?: (error: unknown) => void;
}

export type StepOutcome = 'more' | 'idle' | 'failed';

/** Doublings of the failure backoff counted: past this the wait is backoff_max_ms anyway. */
const FAILURES_COUNTED_MAX = 30;

/**
 * Runs `step` until stopped: at once again when it says there is more; when idle, after a wait that
 * grows from `idle_ms` to `idle_max_ms` and that a wake cuts short past its first `wake_gap_ms`;
 * with bounded exponential backoff after failures (wakes do not cut a backoff: the database is
 * failing). `stop()` waits for the step in progress.
 */
export function startPolling(step: () => Promise<StepOutcome>, options: PollingOptions): { stop(): Promise<void> } {
  const idle_max_ms = options.idle_max_ms ?? options.idle_ms;
  const wake_gap_ms = options.wake_gap_ms ?? options.idle_ms;
  assert(options.idle_ms > 0 && idle_max_ms >= options.idle_ms && wake_gap_ms >= 0, 'polling idle intervals out of range');
  assert(options.backoff_ms > 0 && options.backoff_max_ms >= options.backoff_ms, 'polling backoff out of range');
  const alarm = new Alarm();
  let stopping = false;
  /** A wake arrived since the current step began: what woke the loop may have committed after its read. */
  let woken = false;
  let wakeable = false;
  const pause = async (ms: number, cut_by_wake: boolean): Promise<void> => {
    if (ms <= 0 || stopping || (cut_by_wake && woken)) return;
    wakeable = cut_by_wake;
    await alarm.sleep(ms);
    wakeable = false;
  };
  const unsubscribe = options.wake_on?.(() => {
    woken = true;
    if (wakeable) alarm.ring();
  });
  const loop = (async () => {
    let failures = 0;
    let idle_wait_ms = options.idle_ms;
    while (!stopping) {
      woken = false;
      const outcome = await stepSafely(step, options.onError);
      failures = outcome === 'failed' ? Math.min(failures + 1, FAILURES_COUNTED_MAX) : 0;
      if (outcome === 'more') idle_wait_ms = options.idle_ms;
      if (outcome === 'failed') await pause(Math.min(options.backoff_max_ms, options.backoff_ms * 2 ** (failures - 1)), false);
      if (outcome === 'idle') {
        await pause(wake_gap_ms, false);
        await pause(idle_wait_ms - wake_gap_ms, true);
        idle_wait_ms = Math.min(idle_wait_ms * 2, idle_max_ms);
      }
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      unsubscribe?.();
      alarm.ring();
      await loop;
    },
  };
}

async function stepSafely(step: () => Promise<StepOutcome>, onError: ((error: unknown) => void) | undefined): Promise<StepOutcome> {
  try {
    return await step();
  } catch (error) {
    onError?.(error);
    return 'failed';
  }
}

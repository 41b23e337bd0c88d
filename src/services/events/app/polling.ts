import { assert } from '../../../kernel/assert.js';

export interface PollingOptions {
  /** Wait after a step that found nothing to do. */
  idle_ms: number;
  /** First wait after a failure; doubles per consecutive failure up to `backoff_max_ms`. */
  backoff_ms: number;
  backoff_max_ms: number;
  onError?: (error: unknown) => void;
}

export type StepOutcome = 'more' | 'idle' | 'failed';

/**
 * Runs `step` until stopped: at once again when it says there is more, after `idle_ms` when idle,
 * with bounded exponential backoff after failures. `stop()` waits for the step in progress.
 */
export function startPolling(step: () => Promise<StepOutcome>, options: PollingOptions): { stop(): Promise<void> } {
  assert(options.idle_ms > 0 && options.backoff_ms > 0 && options.backoff_max_ms >= options.backoff_ms, 'polling intervals out of range');
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      let outcome: StepOutcome;
      try {
        outcome = await step();
      } catch (error) {
        options.onError?.(error);
        outcome = 'failed';
      }
      failures = outcome === 'failed' ? Math.min(failures + 1, 30) : 0;
      if (stopping) break;
      if (outcome === 'idle') await sleep(options.idle_ms);
      if (outcome === 'failed') await sleep(Math.min(options.backoff_max_ms, options.backoff_ms * 2 ** (failures - 1)));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}

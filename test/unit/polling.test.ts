import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StepOutcome } from '../../src/services/events/app/polling.js';
import { startPolling } from '../../src/services/events/app/polling.js';
import { notifyCommit, onCommit } from '../../src/platform/write/commit-signal.js';

/** A step that answers from a script (then `rest`), noting the (fake) time of each call. */
function scriptedStep(script: StepOutcome[], rest: StepOutcome = 'idle') {
  const calls: number[] = [];
  const step = async (): Promise<StepOutcome> => {
    calls.push(Date.now());
    return script.shift() ?? rest;
  };
  return { calls, step };
}

const gapsBetween = (calls: readonly number[]) => calls.slice(1).map((at, index) => at - calls[index]!);

const OPTIONS = { idle_ms: 10, idle_max_ms: 100, backoff_ms: 200, backoff_max_ms: 400 };

describe('startPolling', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits longer after each idle step, doubling from idle_ms up to idle_max_ms', async () => {
    const { calls, step } = scriptedStep([]);
    const polling = startPolling(step, OPTIONS);
    await vi.advanceTimersByTimeAsync(560);
    await polling.stop();
    expect(gapsBetween(calls)).toEqual([10, 20, 40, 80, 100, 100, 100, 100]);
  });

  it('starts again from idle_ms after a step that found more', async () => {
    const { calls, step } = scriptedStep(['idle', 'idle', 'idle', 'more', 'idle', 'idle']);
    const polling = startPolling(step, OPTIONS);
    await vi.advanceTimersByTimeAsync(100);
    await polling.stop();
    expect(gapsBetween(calls).slice(0, 6)).toEqual([10, 20, 40, 0, 10, 20]);
  });

  it('a commit ends an idle wait at once, even at the longest interval', async () => {
    const { calls, step } = scriptedStep([]);
    const polling = startPolling(step, { ...OPTIONS, idle_max_ms: 60_000, wake_on: onCommit });
    await vi.advanceTimersByTimeAsync(10 + 20 + 40 + 80 + 160 + 30);
    expect(calls.at(-1)).toBe(310);
    notifyCommit();
    await vi.advanceTimersByTimeAsync(0);
    await polling.stop();
    expect(calls.at(-1)).toBe(340);
  });

  it('a commit cannot bring the next step closer than idle_ms after an idle one, so load never polls more often', async () => {
    const { calls, step } = scriptedStep([]);
    const polling = startPolling(step, { ...OPTIONS, idle_max_ms: 60_000, wake_on: onCommit });
    await vi.advanceTimersByTimeAsync(12);
    expect(calls).toEqual([0, 10]);
    // The wait after the step at 10 is 20 ms; its first 10 ms (idle_ms) hold whatever commits.
    notifyCommit();
    await vi.advanceTimersByTimeAsync(7);
    expect(calls).toEqual([0, 10]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([0, 10, 20]);
    notifyCommit();
    await vi.advanceTimersByTimeAsync(10);
    await polling.stop();
    expect(calls).toEqual([0, 10, 20, 30]);
  });

  it('wake_gap_ms sets that least wait', async () => {
    const { calls, step } = scriptedStep([]);
    const polling = startPolling(step, { ...OPTIONS, idle_max_ms: 60_000, wake_gap_ms: 4, wake_on: onCommit });
    await vi.advanceTimersByTimeAsync(1);
    notifyCommit();
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    await polling.stop();
    expect(calls).toEqual([0, 4]);
  });

  it('a commit during an idle step makes the loop skip the wait after it', async () => {
    const calls: number[] = [];
    const polling = startPolling(
      async () => {
        calls.push(Date.now());
        // The step read nothing; meanwhile a write commits and its event is there to read.
        if (calls.length === 1) notifyCommit();
        return 'idle';
      },
      { ...OPTIONS, idle_ms: 1_000, idle_max_ms: 1_000, wake_gap_ms: 0, wake_on: onCommit },
    );
    await vi.advanceTimersByTimeAsync(0);
    await polling.stop();
    expect(calls).toEqual([0, 0]);
  });

  it('commits do not cut a failure backoff short', async () => {
    const { calls, step } = scriptedStep(['failed', 'failed']);
    const polling = startPolling(step, { ...OPTIONS, wake_on: onCommit });
    await vi.advanceTimersByTimeAsync(50);
    notifyCommit();
    await vi.advanceTimersByTimeAsync(50);
    expect(calls).toEqual([0]);
    await vi.advanceTimersByTimeAsync(100 + 400);
    await polling.stop();
    expect(calls.slice(0, 3)).toEqual([0, 200, 600]);
  });

  it('a step that throws counts as a failure and is reported', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const polling = startPolling(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('database down');
        return 'idle';
      },
      { ...OPTIONS, onError: (error) => errors.push(error) },
    );
    await vi.advanceTimersByTimeAsync(199);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await polling.stop();
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error('database down')]);
  });

  it('stop() ends the wait, waits for the step in progress and unsubscribes from commits', async () => {
    let finishStep: (() => void) | undefined;
    let calls = 0;
    const polling = startPolling(
      () => {
        calls += 1;
        return new Promise<StepOutcome>((resolve) => (finishStep = () => resolve('idle')));
      },
      { ...OPTIONS, idle_max_ms: 60_000, wake_on: onCommit },
    );
    let stopped = false;
    const stopping = polling.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finishStep?.();
    await stopping;
    notifyCommit();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(1);
  });

  it('refuses a longest wait shorter than the first', () => {
    expect(() => startPolling(async () => 'idle', { ...OPTIONS, idle_max_ms: 5 })).toThrow(/out of range/);
  });
});

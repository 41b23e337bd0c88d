import { describe, expect, it } from 'vitest';
import { advanceProblem, clockNow, failAdvance, finishAdvance, newTestClock, startAdvance, stepTo } from '../../src/services/billing/domain/test-clock.js';

const T0 = 1_767_225_600;
const DAY = 86_400;

function clock() {
  return newTestClock({ merchant_id: 'acct_1', id: 'clock_1', now_s: T0, frozen_time: T0, name: null });
}

describe('a test clock advancing through its billing work', () => {
  it('shows the target at once, keeps its objects where the work got to, and is ready only at the end', () => {
    const advancing = startAdvance(clock(), T0 + 40 * DAY);
    expect(advancing).toMatchObject({ status: 'advancing', frozen_time: T0 + 40 * DAY, billed_to: T0, version: 2 });
    expect(clockNow(advancing)).toBe(T0);
    const stepped = stepTo(advancing, T0 + 31 * DAY);
    expect(stepped).toMatchObject({ status: 'advancing', billed_to: T0 + 31 * DAY, version: 3 });
    expect(clockNow(stepped)).toBe(T0 + 31 * DAY);
    const ready = finishAdvance(stepped);
    expect(ready).toMatchObject({ status: 'ready', billed_to: T0 + 40 * DAY, frozen_time: T0 + 40 * DAY });
    expect(clockNow(ready)).toBe(ready.frozen_time);
  });

  it('refuses a second advance while one runs, and steps that leave the advance', () => {
    const advancing = startAdvance(clock(), T0 + 10 * DAY);
    expect(advanceProblem(advancing, T0 + 20 * DAY)).toMatch(/still advancing/);
    expect(() => stepTo(advancing, T0 + 11 * DAY)).toThrow();
    expect(() => stepTo(stepTo(advancing, T0 + 5 * DAY), T0 + 4 * DAY)).toThrow();
    expect(() => finishAdvance(clock())).toThrow();
    expect(failAdvance(advancing).status).toBe('internal_failure');
    expect(advanceProblem(failAdvance(advancing), T0 + 20 * DAY)).toMatch(/internal_failure/);
  });

  it('moves only forward, at most two years at once', () => {
    expect(advanceProblem(clock(), T0)).toMatch(/only move forward/);
    expect(advanceProblem(clock(), T0 + 731 * DAY)).toMatch(/two years/);
    expect(advanceProblem(clock(), T0 + 730 * DAY)).toBeNull();
  });
});

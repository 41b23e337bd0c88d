import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_DUNNING_POLICY, afterFailure, isHardDecline, policyProblem, trialNoticeAt } from '../../src/services/billing/domain/dunning.js';

const DAY = 86_400;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

describe('dunning schedule', () => {
  it('tries 8 times within two weeks by default, as Smart Retries recommend', () => {
    const retries: number[] = [];
    let attempt_count = 1;
    for (;;) {
      const step = afterFailure(DEFAULT_DUNNING_POLICY, { first_try_at: T0, attempt_count, decline_code: 'generic_decline' });
      if (step.next === 'end') {
        expect(step.reason).toBe('tries_exhausted');
        break;
      }
      retries.push(step.at);
      attempt_count += 1;
    }
    expect(attempt_count).toBe(8);
    expect(retries.map((at) => (at - T0) / DAY)).toEqual([1, 2, 3, 5, 7, 10, 14]);
  });

  it('never retries a hard decline, whatever try it was', () => {
    for (const code of ['stolen_card', 'lost_card', 'fraudulent', 'pickup_card']) {
      expect(afterFailure(DEFAULT_DUNNING_POLICY, { first_try_at: T0, attempt_count: 1, decline_code: code })).toEqual({ next: 'end', reason: 'hard_decline' });
    }
    for (const code of ['insufficient_funds', 'generic_decline', 'processing_error', null]) expect(isHardDecline(code)).toBe(false);
  });

  it('schedules every retry after the previous one and within the policy window (any valid policy)', () => {
    const policy = fc
      .uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 7 })
      .map((days) => ({ ...DEFAULT_DUNNING_POLICY, retry_days: [...days].sort((a, b) => a - b) }));
    fc.assert(
      fc.property(policy, fc.integer({ min: 0, max: 4_000_000_000 }), (p, first_try_at) => {
        expect(policyProblem(p)).toBeNull();
        let previous = first_try_at;
        for (let attempt_count = 1; attempt_count <= p.retry_days.length + 1; attempt_count++) {
          const step = afterFailure(p, { first_try_at, attempt_count, decline_code: null });
          if (attempt_count > p.retry_days.length) {
            expect(step).toEqual({ next: 'end', reason: 'tries_exhausted' });
            return;
          }
          if (step.next !== 'retry') throw new Error('expected a retry');
          expect(step.at).toBeGreaterThan(previous);
          expect(step.at).toBeLessThanOrEqual(first_try_at + 60 * DAY);
          previous = step.at;
        }
      }),
    );
  });

  it('refuses policies Smart Retries could not express', () => {
    expect(policyProblem({ ...DEFAULT_DUNNING_POLICY, retry_days: [1, 2, 3, 4, 5, 6, 7, 8] })).toMatch(/At most 7 retries/);
    expect(policyProblem({ ...DEFAULT_DUNNING_POLICY, retry_days: [3, 2] })).toMatch(/increase/);
    expect(policyProblem({ ...DEFAULT_DUNNING_POLICY, retry_days: [0] })).toMatch(/whole number of days/);
    expect(policyProblem({ ...DEFAULT_DUNNING_POLICY, retry_days: [61] })).toMatch(/whole number of days/);
    expect(policyProblem({ ...DEFAULT_DUNNING_POLICY, retry_days: [] })).toBeNull();
  });
});

describe('trial_will_end', () => {
  it('is three days before the trial ends, or at the start of a shorter trial', () => {
    expect(trialNoticeAt(T0, T0 + 14 * DAY)).toBe(T0 + 11 * DAY);
    expect(trialNoticeAt(T0, T0 + 3 * DAY)).toBe(T0);
    expect(trialNoticeAt(T0, T0 + DAY)).toBe(T0);
  });
});

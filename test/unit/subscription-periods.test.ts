import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BillingInterval, Recurrence } from '../../src/services/billing/domain/periods.js';
import { MAX_INTERVAL_COUNT, boundary, nextPeriod, periodAt, periodIndexAt } from '../../src/services/billing/domain/periods.js';
import { portion, prorateChange, remaining } from '../../src/services/billing/domain/proration.js';

/** Billing periods counted from the anchor (month ends as Stripe bills them) and the one proration rounding rule. */

const at = (iso: string): number => Date.parse(iso) / 1000;
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

const recurrence: fc.Arbitrary<Recurrence> = fc
  .constantFrom<BillingInterval>('day', 'week', 'month', 'year')
  .chain((interval) => fc.integer({ min: 1, max: MAX_INTERVAL_COUNT[interval] }).map((interval_count) => ({ interval, interval_count })));
/** 1970 to 2100. */
const instant = fc.integer({ min: 0, max: 4_102_444_800 });

describe('period boundaries', () => {
  it('bills a 31 January anchor on the last day of shorter months and back on the 31st', () => {
    const anchor = at('2024-01-31T10:30:00Z');
    const months = [1, 2, 3, 4, 12, 13].map((n) => iso(boundary(anchor, { interval: 'month', interval_count: 1 }, n)));
    expect(months).toEqual([
      '2024-02-29T10:30:00.000Z',
      '2024-03-31T10:30:00.000Z',
      '2024-04-30T10:30:00.000Z',
      '2024-05-31T10:30:00.000Z',
      '2025-01-31T10:30:00.000Z',
      '2025-02-28T10:30:00.000Z',
    ]);
  });

  it('bills a 29 February yearly anchor on 28 February in common years', () => {
    const anchor = at('2024-02-29T00:00:00Z');
    expect([1, 4].map((n) => iso(boundary(anchor, { interval: 'year', interval_count: 1 }, n)))).toEqual([
      '2025-02-28T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ]);
  });

  it('counts quarters and fortnights from the anchor', () => {
    expect(nextPeriod(at('2023-11-30T00:00:00Z'), 'month', 3, 1)).toEqual({ start: at('2024-02-29T00:00:00Z'), end: at('2024-05-30T00:00:00Z') });
    expect(nextPeriod(at('2024-01-01T00:00:00Z'), 'week', 2, 2)).toEqual({ start: at('2024-01-29T00:00:00Z'), end: at('2024-02-12T00:00:00Z') });
  });

  it('strictly increases, keeps the time of day, and a month step lands on the anchor day or the month end', () => {
    fc.assert(
      fc.property(instant, recurrence, fc.integer({ min: -50, max: 200 }), (anchor, r, n) => {
        const here = boundary(anchor, r, n);
        expect(boundary(anchor, r, n + 1)).toBeGreaterThan(here);
        expect((((here - anchor) % 86_400) + 86_400) % 86_400).toBe(0);
        if (r.interval === 'month' || r.interval === 'year') {
          const date = new Date(here * 1000);
          const month_end = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
          expect(date.getUTCDate()).toBe(Math.min(new Date(anchor * 1000).getUTCDate(), month_end));
        }
      }),
    );
  });

  it('finds the period holding any instant', () => {
    fc.assert(
      fc.property(instant, recurrence, instant, (anchor, r, t) => {
        const period = periodAt(anchor, r, t);
        expect(period.start).toBeLessThanOrEqual(t);
        expect(period.end).toBeGreaterThan(t);
        expect(period.start).toBe(boundary(anchor, r, periodIndexAt(anchor, r, t)));
      }),
    );
  });
});

describe('proration', () => {
  const period = { start: at('2024-03-01T00:00:00Z'), end: at('2024-04-01T00:00:00Z') };

  it('prorates by the second and rounds half up', () => {
    // 31 days; 10 days left of 3100 cents is exactly 1000.
    expect(remaining(3100, period, at('2024-03-22T00:00:00Z'))).toBe(1000);
    // 1 cent over a period, half of it left: 0.5 rounds up to 1.
    expect(remaining(1, { start: 0, end: 2 }, 1)).toBe(1);
    expect(remaining(1, { start: 0, end: 3 }, 2)).toBe(0);
    expect(remaining(2000, period, period.start)).toBe(2000);
    expect(remaining(2000, period, period.end)).toBe(0);
  });

  it('a quantity change mid-period credits the unused time and charges the remaining time', () => {
    // 1 × 1000 → 3 × 1000 halfway through a 30-day period.
    const thirty = { start: 0, end: 30 * 86_400 };
    const lines = prorateChange(1000, 3000, thirty, 15 * 86_400);
    expect(lines).toEqual([
      { amount: -500, period: { start: 15 * 86_400, end: thirty.end }, kind: 'unused_time' },
      { amount: 1500, period: { start: 15 * 86_400, end: thirty.end }, kind: 'remaining_time' },
    ]);
    expect(prorateChange(1000, 3000, thirty, thirty.end)).toEqual([]);
  });

  it('the pieces of a period, however it is cut, sum to its full amount', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999_999 * 1000 }),
        fc.integer({ min: 1, max: 400 * 86_400 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 30 }),
        (amount, length, cuts) => {
          const p = { start: 1_700_000_000, end: 1_700_000_000 + length };
          const points = [p.start, ...cuts.map((c) => p.start + (c % length)).sort((a, b) => a - b), p.end];
          let sum = 0;
          for (let i = 1; i < points.length; i++) {
            const piece = portion(amount, p, points[i - 1] ?? 0, points[i] ?? 0);
            expect(piece).toBeGreaterThanOrEqual(0);
            sum += piece;
          }
          expect(sum).toBe(amount);
        },
      ),
    );
  });

  it('a change and its reversal at the same instant cancel out exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 3_000_000 }), (a, b, t) => {
        const p = { start: 0, end: 2_678_400 };
        const total = [...prorateChange(a, b, p, t), ...prorateChange(b, a, p, t)].reduce((s, l) => s + l.amount, 0);
        expect(total).toBe(0);
      }),
    );
  });
});

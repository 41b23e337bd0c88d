import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SettlementLine } from '../../src/services/settlement/domain/settlement-report.js';
import type { LineContext, PayrailRecord } from '../../src/services/settlement/domain/reconciliation.js';
import {
  RECONCILIATION_RULES,
  addDays,
  classifyLine,
  isDay,
  lineExceptionId,
  lineReference,
  processorFee,
  recordExceptionId,
  runId,
} from '../../src/services/settlement/domain/reconciliation.js';
import type { DiscrepancyKind } from '../../src/services/settlement/domain/discrepancies.js';
import { DISCREPANCY_KINDS, INJECTED, discrepancyFor, injectDiscrepancies } from '../../src/services/settlement/domain/discrepancies.js';
import { PayoutCheck } from '../../src/services/settlement/domain/payout-check.js';
import { parseDiscrepancyPlan, sandboxDiscrepancies } from '../../src/services/settlement/adapters/discrepant-reports.js';

/** Reconciliation's pure decisions: each class of difference, and the sandbox's fault injection. */

const MERCHANT = 'acct_unit0000000000000000001';

function settled(reference: string, amount: number, fees = 49, overrides: Partial<SettlementLine> = {}): SettlementLine {
  return {
    line: 2,
    company_account: 'PayrailSandbox',
    merchant_account: MERCHANT,
    psp_reference: reference,
    merchant_reference: reference,
    payment_method: 'card',
    creation_date: '2026-11-02 10:00:00',
    time_zone: 'UTC',
    type: 'Settled',
    modification_reference: reference,
    gross_currency: 'usd',
    gross_debit: null,
    gross_credit: amount,
    exchange_rate: '1',
    net_currency: 'usd',
    net_debit: null,
    net_credit: amount - fees,
    commission: fees,
    markup: null,
    scheme_fees: null,
    interchange: null,
    payment_method_variant: 'card',
    modification_merchant_reference: reference,
    batch_number: 20_395,
    ...overrides,
  };
}

function refunded(charge: string, refund: string, amount: number): SettlementLine {
  return settled(charge, 0, 12, {
    type: 'Refunded',
    gross_credit: null,
    gross_debit: amount,
    net_credit: null,
    net_debit: amount + 12,
    modification_reference: refund,
    modification_merchant_reference: refund,
  });
}

function payout(lines: readonly SettlementLine[]): SettlementLine {
  const net = lines.reduce((sum, l) => sum + (l.net_credit ?? 0) - (l.net_debit ?? 0), 0);
  return settled('', 0, 0, {
    type: 'MerchantPayout',
    psp_reference: '',
    merchant_reference: '',
    modification_reference: '',
    modification_merchant_reference: '',
    gross_currency: '',
    gross_credit: null,
    net_debit: net >= 0 ? net : null,
    net_credit: net < 0 ? -net : null,
    commission: null,
  });
}

const charge: PayrailRecord = {
  kind: 'charge',
  merchant_id: MERCHANT,
  id: 'ch_1',
  amount: 2000,
  currency: 'usd',
  settles_on: '2026-11-02',
  ledger_problem: null,
};
const ctx: LineContext = { report_date: '2026-11-02', report_id: 'sandbox:2026-11-02', matched_before: null, expected_fee: 49 };

describe('classifying a report line', () => {
  it('matches a line that settles its record as the contract says', () => {
    expect(classifyLine(settled('ch_1', 2000), charge, ctx)).toEqual({ outcome: 'matched' });
  });

  it('names each difference, the most fundamental first', () => {
    const cls = (line: SettlementLine, record: PayrailRecord | undefined, over: Partial<LineContext> = {}) => {
      const verdict = classifyLine(line, record, { ...ctx, ...over });
      return verdict.outcome === 'exception' ? `${verdict.class} ${verdict.status}` : verdict.outcome;
    };
    expect(cls(settled('ch_2', 2000), undefined)).toBe('missing_in_payrail open');
    expect(cls(refunded('ch_2', 're_2', 500), undefined)).toBe('missing_in_payrail open');
    expect(cls(refunded('ch_1', 're_1', 500), charge)).toBe('missing_in_payrail open');
    expect(cls(settled('ch_1', 2000), charge, { matched_before: { report_id: 'sandbox:2026-11-01', line: 9 } })).toBe('duplicate open');
    // The line that made the match, seen again in a re-run, is not its own duplicate.
    expect(cls(settled('ch_1', 2000), charge, { matched_before: { report_id: ctx.report_id, line: 2 } })).toBe('matched');
    expect(cls(settled('ch_1', 2100, 49, { gross_currency: 'eur', net_currency: 'eur' }), charge)).toBe('currency_mismatch open');
    expect(cls(settled('ch_1', 2100), charge)).toBe('amount_mismatch open');
    expect(cls(settled('ch_1', 2000, 49 + RECONCILIATION_RULES.fee_tolerance_minor), charge)).toBe('fee_mismatch auto_fixed');
    expect(cls(settled('ch_1', 2000, 49 - RECONCILIATION_RULES.fee_tolerance_minor), charge)).toBe('fee_mismatch auto_fixed');
    expect(cls(settled('ch_1', 2000, 50 + RECONCILIATION_RULES.fee_tolerance_minor), charge)).toBe('fee_mismatch open');
    expect(cls(settled('ch_1', 2000), charge, { report_date: '2026-11-03' })).toBe('settled_late auto_fixed');
    expect(cls(payout([settled('ch_1', 2000)]), undefined)).toBe('batch_line');
    expect(cls(settled('', 0, 30, { type: 'Fee' }), undefined)).toBe('batch_line');
  });

  it('checks a chargeback against its charge: known, same currency, at most the captured amount, never late', () => {
    const chargeback = (amount: number, over: Partial<SettlementLine> = {}) =>
      settled('ch_1', 0, 0, { type: 'Chargeback', gross_credit: null, gross_debit: amount, net_credit: null, net_debit: amount, commission: 0, ...over });
    const later = { ...ctx, report_date: '2026-11-20', expected_fee: 0 };
    expect(classifyLine(chargeback(2000), charge, later)).toEqual({ outcome: 'matched' });
    expect(classifyLine(chargeback(800), charge, later)).toEqual({ outcome: 'matched' });
    expect(classifyLine(chargeback(2001), charge, later)).toMatchObject({ class: 'amount_mismatch', status: 'open' });
    expect(classifyLine(chargeback(800, { gross_currency: 'eur', net_currency: 'eur' }), charge, later)).toMatchObject({ class: 'currency_mismatch' });
    expect(classifyLine(chargeback(800), undefined, later)).toMatchObject({ class: 'missing_in_payrail' });
    expect(classifyLine(chargeback(800), charge, { ...later, matched_before: { report_id: 'sandbox:2026-11-19', line: 4 } })).toMatchObject({
      class: 'duplicate',
    });
  });

  it('books the fee difference the processor kept, signed, and names both figures', () => {
    const verdict = classifyLine(settled('ch_1', 2000, 56), charge, ctx);
    expect(verdict).toMatchObject({ class: 'fee_mismatch', status: 'auto_fixed', remedy: { kind: 'fee_adjustment', amount: 7 } });
    expect(verdict.outcome === 'exception' && verdict.detail).toContain('kept 56 in fees, its contract says 49');
    expect(classifyLine(settled('ch_1', 2000, 40), charge, ctx)).toMatchObject({ remedy: { kind: 'fee_adjustment', amount: -9 } });
  });

  it('reads a refund line by its modification merchant reference, and compares its gross debit', () => {
    const line = refunded('ch_1', 're_1', 500);
    expect(lineReference(line)).toBe('re_1');
    const refund: PayrailRecord = { ...charge, kind: 'refund', id: 're_1', amount: 500 };
    expect(classifyLine(line, refund, { ...ctx, expected_fee: 12 })).toEqual({ outcome: 'matched' });
    expect(classifyLine(line, { ...refund, amount: 400 }, { ...ctx, expected_fee: 12 })).toMatchObject({ class: 'amount_mismatch' });
    expect(processorFee(line)).toBe(12);
  });

  it('derives the same ids from the same facts, and different ones otherwise', () => {
    expect(runId('sandbox:2026-11-02')).toBe(runId('sandbox:2026-11-02'));
    expect(runId('sandbox:2026-11-02')).not.toBe(runId('sandbox:2026-11-03'));
    expect(lineExceptionId('r', 2, 'duplicate')).not.toBe(lineExceptionId('r', 2, 'amount_mismatch'));
    expect(lineExceptionId('r', 2, 'duplicate')).not.toBe(lineExceptionId('r', 3, 'duplicate'));
    expect(recordExceptionId('missing_at_processor', MERCHANT, 'ch_1')).toMatch(/^rcx_[0-9A-Z]{24}$/);
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2026-03-01', -2)).toBe('2026-02-27');
    expect([isDay('2026-11-02'), isDay('2026-02-30'), isDay('2026-11-2')]).toEqual([true, false, false]);
  });
});

describe('payout lines against their lines', () => {
  it('accepts a payout of exactly the net, and names a different one', () => {
    const lines = [settled('ch_1', 2000), refunded('ch_1', 're_1', 500)];
    const check = new PayoutCheck();
    for (const line of lines) expect(check.add(line)).toBeNull();
    expect(check.add(payout(lines))).toBeNull();
    const wrong = new PayoutCheck();
    for (const line of lines) wrong.add(line);
    expect(wrong.add({ ...payout(lines), net_debit: 1000 })).toMatchObject({ expected: 1951 - 512, paid: 1000, currency: 'usd' });
  });
});

describe('injecting discrepancies into a sandbox report', () => {
  // Each day's objects are its own: ids carry their creation time, so two days never share one
  // (each day's ids are drawn from a range of a million starting at `first`, and the ranges are apart).
  const reference = (first: number) => fc.integer({ min: first, max: first + 999_999 }).map((n) => `ch_${String(n).padStart(26, '0')}`);
  const dayOf = (first: number) =>
    fc.uniqueArray(reference(first), { minLength: 1, maxLength: 60 }).map((refs) => {
      const lines = refs.map((ref, i) => (i % 4 === 3 ? refunded(refs[i - 1] ?? ref, ref.replace('ch_', 're_'), 300) : settled(ref, 1000 + i)));
      return [...lines, payout(lines)];
    });
  const day = dayOf(2_000_000);

  it('each kind does what it says, the report stays consistent, and the same plan injects the same faults', () => {
    fc.assert(
      fc.property(day, dayOf(1), fc.string({ minLength: 1, maxLength: 8 }), (today, yesterday, seed) => {
        const plan = { seed, rates_ppm: Object.fromEntries(DISCREPANCY_KINDS.map((kind) => [kind, 100_000])) as Record<DiscrepancyKind, number> };
        const result = injectDiscrepancies(today, yesterday, plan);
        expect(injectDiscrepancies(today, yesterday, plan)).toEqual(result);
        // Lines numbered from 2, payouts last and each paying its lines' net.
        expect(result.lines.map((l) => l.line)).toEqual(result.lines.map((_, i) => i + 2));
        const check = new PayoutCheck();
        for (const line of result.lines) expect(check.add(line)).toBeNull();
        const count = (ref: string) => result.lines.filter((l) => l.type !== 'MerchantPayout' && lineReference(l) === ref).length;
        for (const { kind, reference: ref } of result.injected) {
          if (kind === 'missing_at_processor' || kind === 'settled_late') expect(count(ref)).toBe(0);
          else if (kind === 'duplicate') expect(count(ref)).toBe(2);
          else expect(count(ref)).toBe(1);
          const line = result.lines.find((l) => lineReference(l) === ref);
          const original = today.find((l) => lineReference(l) === ref);
          if (kind === 'amount_mismatch')
            expect(Math.abs((line?.gross_credit ?? 0) - (line?.gross_debit ?? 0))).toBe(
              Math.abs((original?.gross_credit ?? 0) - (original?.gross_debit ?? 0)) + INJECTED.amount_delta,
            );
          if (kind === 'fee_mismatch_small') expect(processorFee(line ?? today[0]!)).toBe(processorFee(original ?? today[0]!) + INJECTED.small_fee_delta);
          if (kind === 'currency_mismatch') expect(line?.gross_currency).not.toBe(original?.gross_currency);
        }
        // Yesterday's late lines are settled today, in today's batch.
        for (const late of yesterday.filter((l) => discrepancyFor(plan, l) === 'settled_late')) {
          expect(result.lines.filter((l) => lineReference(l) === lineReference(late) && l.type === late.type)).toHaveLength(1);
        }
        // One batch; none at all when every line of the day was withheld (the processor then sends no report).
        expect(new Set(result.lines.map((l) => l.batch_number)).size).toBe(result.lines.length === 0 ? 0 : 1);
      }),
      { numRuns: 60 },
    );
  });

  it('a plan with no faults leaves the lines as they were', () => {
    fc.assert(
      fc.property(day, (today) => {
        const result = injectDiscrepancies(today, [], { seed: 's', rates_ppm: {} });
        expect(result.injected).toEqual([]);
        expect(result.lines).toEqual(today.map((l, i) => ({ ...l, line: i + 2 })));
      }),
      { numRuns: 30 },
    );
  });

  it('the knob: parsed from its setting, refused when malformed, refused in live mode', () => {
    expect(parseDiscrepancyPlan(undefined)).toBeUndefined();
    expect(parseDiscrepancyPlan('seed=x, duplicate=100,fee_mismatch_small=5')).toEqual({ seed: 'x', rates_ppm: { duplicate: 100, fee_mismatch_small: 5 } });
    expect(() => parseDiscrepancyPlan('seed=x,typo=100')).toThrow(/unknown discrepancy kind typo/);
    expect(() => parseDiscrepancyPlan('seed=x,duplicate=-1')).toThrow(/non-negative integer/);
    expect(() => parseDiscrepancyPlan('duplicate=100')).toThrow(/seed/);
    const processor = { name: 'sandbox', settlementReport: async () => null };
    expect(sandboxDiscrepancies(processor, {}, 'live')).toBe(processor);
    expect(() => sandboxDiscrepancies(processor, { PAYRAIL_SANDBOX_DISCREPANCIES: 'seed=x,duplicate=1' }, 'live')).toThrow(/test mode only/);
    expect(sandboxDiscrepancies(processor, { PAYRAIL_SANDBOX_DISCREPANCIES: 'seed=x,duplicate=1' }, 'test')).not.toBe(processor);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SettlementLine } from '../../src/services/settlement/index.js';
import {
  SETTLEMENT_LINE_TYPES,
  SETTLEMENT_REPORT_COLUMNS,
  SettlementReportError,
  readSettlementReport,
  serializeSettlementReport,
  serializeSettlementReportChunks,
  toMajorUnits,
  toMinorUnits,
} from '../../src/services/settlement/index.js';

function line(overrides: Partial<SettlementLine> = {}): SettlementLine {
  return {
    line: 2,
    company_account: 'PayrailSandbox',
    merchant_account: 'acct_1',
    psp_reference: 'ch_1',
    merchant_reference: 'ch_1',
    payment_method: 'visa',
    creation_date: '2026-12-01 10:00:00',
    time_zone: 'UTC',
    type: 'Settled',
    modification_reference: 'ch_1',
    gross_currency: 'usd',
    gross_debit: null,
    gross_credit: 2000,
    exchange_rate: '1',
    net_currency: 'usd',
    net_debit: null,
    net_credit: 1957,
    commission: null,
    markup: 10,
    scheme_fees: 3,
    interchange: 30,
    payment_method_variant: 'visa',
    modification_merchant_reference: '',
    batch_number: 7,
    ...overrides,
  };
}

function payout(overrides: Partial<SettlementLine> = {}): SettlementLine {
  return line({
    psp_reference: '',
    merchant_reference: '',
    payment_method: '',
    type: 'MerchantPayout',
    modification_reference: '',
    gross_currency: '',
    gross_credit: null,
    net_credit: null,
    net_debit: 1957,
    markup: null,
    scheme_fees: null,
    interchange: null,
    payment_method_variant: '',
    exchange_rate: '',
    ...overrides,
  });
}

const numbered = (lines: SettlementLine[]) => lines.map((l, i) => ({ ...l, line: i + 2 }));

async function failure(csv: string | string[]): Promise<SettlementReportError> {
  const error = await readSettlementReport(typeof csv === 'string' ? [csv] : csv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SettlementReportError);
  return error as SettlementReportError;
}

function expectFailure(error: SettlementReportError, line: number, message: RegExp): void {
  expect(error.line).toBe(line);
  expect(error.message).toMatch(message);
}

describe('amounts', () => {
  it('converts decimals to minor units by the currency exponent, without floats', () => {
    expect(toMinorUnits('12.34', 'usd')).toBe(1234);
    expect(toMinorUnits('12.3', 'usd')).toBe(1230);
    expect(toMinorUnits('12', 'usd')).toBe(1200);
    expect(toMinorUnits('0.29', 'usd')).toBe(29); // 0.29 * 100 is 28.999999999999996 in floats
    expect(toMinorUnits('1234', 'jpy')).toBe(1234);
    expect(toMinorUnits('1.234', 'kwd')).toBe(1234);
    expect(toMinorUnits('12.345', 'usd')).toBeUndefined();
    expect(toMinorUnits('1.5', 'jpy')).toBeUndefined();
    expect(toMinorUnits('-1.00', 'usd')).toBeUndefined();
    expect(toMinorUnits('1e3', 'usd')).toBeUndefined();
    expect(toMinorUnits('1.00', 'xxx')).toBeUndefined();
    expect(toMajorUnits(5, 'usd')).toBe('0.05');
    expect(toMajorUnits(1230, 'usd')).toBe('12.30');
    expect(toMajorUnits(1230, 'jpy')).toBe('1230');
    expect(toMajorUnits(1, 'kwd')).toBe('0.001');
  });

  it('round-trips every amount in every exponent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), fc.constantFrom('usd', 'jpy', 'kwd', 'eur'), (minor, currency) => {
        expect(toMinorUnits(toMajorUnits(minor, currency), currency)).toBe(minor);
      }),
    );
  });

  it("reads amounts up to the ledger's largest posting in every exponent, and nothing larger", () => {
    expect(toMinorUnits('1000000000000', 'jpy')).toBe(1_000_000_000_000);
    expect(toMinorUnits('10000000000.00', 'usd')).toBe(1_000_000_000_000);
    expect(toMinorUnits('1000000000001', 'jpy')).toBeUndefined();
    expect(toMinorUnits('10000000000.01', 'usd')).toBeUndefined();
    expect(toMinorUnits('99999999999999', 'jpy')).toBeUndefined();
  });
});

describe('parse and serialize', () => {
  it('writes Adyen columns in order with decimals in major units, and reads them back', async () => {
    const csv = serializeSettlementReport([line(), payout({ line: 3 })]);
    const [header, first] = csv.split('\n');
    expect(header).toBe(SETTLEMENT_REPORT_COLUMNS.join(','));
    expect(first).toBe('PayrailSandbox,acct_1,ch_1,ch_1,visa,2026-12-01 10:00:00,UTC,Settled,ch_1,USD,,20.00,1,USD,,19.57,,0.10,0.03,0.30,visa,,7');
    expect(await readSettlementReport([csv])).toEqual([line(), payout({ line: 3 })]);
  });

  it('round-trips any report (property), however the file is cut into chunks', async () => {
    const text = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\r'));
    const amount = fc.option(fc.integer({ min: 0, max: 10_000_000_000 }), { nil: null });
    const body = fc.record({
      merchant_account: text,
      psp_reference: text,
      merchant_reference: text,
      type: fc.constantFrom(...SETTLEMENT_LINE_TYPES.filter((t) => t !== 'MerchantPayout')),
      currency: fc.constantFrom('usd', 'jpy', 'kwd'),
      gross_debit: amount,
      gross_credit: amount,
      net_debit: amount,
      net_credit: amount,
      commission: amount,
      interchange: amount,
      modification_merchant_reference: text,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(body, { maxLength: 20 }),
        fc.integer({ min: 1, max: 999_999_999 }),
        fc.integer({ min: 1, max: 50 }),
        async (bodies, batch, chunk) => {
          const lines = numbered([
            ...bodies.map(({ currency, ...rest }) => line({ ...rest, gross_currency: currency, net_currency: currency, batch_number: batch })),
            // Each merchant account's batch closes with its payout line.
            ...[...new Set(['acct_1', ...bodies.map((b) => b.merchant_account)])].map((merchant_account) => payout({ merchant_account, batch_number: batch })),
          ]);
          const csv = serializeSettlementReport(lines);
          const chunks: string[] = [];
          for (let i = 0; i < csv.length; i += chunk) chunks.push(csv.slice(i, i + chunk));
          expect(await readSettlementReport(chunks)).toEqual(lines);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('streams large reports chunk by chunk', () => {
    const lines = numbered([...Array.from({ length: 2_500 }, () => line()), payout()]);
    const chunks = [...serializeSettlementReportChunks(lines)];
    expect(chunks).toHaveLength(1 + 3);
    expect(chunks.join('')).toBe(serializeSettlementReport(lines));
  });

  it('reads the columns by name, in any order, with Adyen optional columns beside them', async () => {
    const csv = serializeSettlementReport([line(), payout({ line: 3 })]);
    const rows = csv
      .trimEnd()
      .split('\n')
      .map((r) => r.split(','));
    const reordered = rows.map((r) => [...r].reverse().concat(r === rows[0] ? 'Reserved4' : '')).map((r) => r.join(','));
    expect(await readSettlementReport([reordered.join('\n') + '\n'])).toEqual([line(), payout({ line: 3 })]);
  });
});

describe('malformed or truncated reports are refused whole, naming the line', () => {
  const good = serializeSettlementReport(numbered([line(), line({ psp_reference: 'ch_2' }), payout()]));
  const rows = good.split('\n'); // header, 3 lines, ''

  it('a line with a bad amount, currency, type, date or batch number', async () => {
    const cases: [string, string, RegExp][] = [
      ['20.00', '20.001', /Gross Credit.*not an amount in USD/],
      ['20.00', '-20.00', /Gross Credit/],
      ['20.00', '2e1', /Gross Credit/],
      ['Settled', 'Setled', /"Type" "Setled"/],
      ['USD,,20', 'XYZ,,20', /Gross Currency.*"XYZ"/],
      ['2026-12-01 10:00:00', '2026-13-01 10:00:00', /Creation Date/],
    ];
    for (const [from, to, message] of cases) {
      const bad = [...rows];
      bad[2] = (bad[2] ?? '').replace(from, to);
      const error = await failure(bad.join('\n'));
      expect(error.line).toBe(3);
      expect(error.message).toMatch(message);
    }
  });

  it('a line with a missing or an extra column', async () => {
    const short = [...rows];
    short[2] = (short[2] ?? '').replace(/,7$/, '');
    expect((await failure(short.join('\n'))).line).toBe(3);
    const long = [...rows];
    long[3] = `${long[3] ?? ''},extra`;
    expect((await failure(long.join('\n'))).line).toBe(4);
  });

  it('an unclosed quote', async () => {
    const bad = [...rows];
    bad[2] = (bad[2] ?? '').replace('visa', '"visa');
    expect((await failure(bad.join('\n'))).message).toMatch(/quote/i);
  });

  it('a header without a standard column, or with one twice', async () => {
    const missing = [(rows[0] ?? '').replace('Batch Number', 'Batch'), ...rows.slice(1)];
    expectFailure(await failure(missing.join('\n')), 1, /lacks "Batch Number"/);
    const twice = [(rows[0] ?? '').replace('TimeZone', 'Type'), ...rows.slice(1)];
    expect((await failure(twice.join('\n'))).message).toMatch(/"Type" appears twice/);
  });

  it('a report cut short: anywhere inside a line, after a line, before its payout', async () => {
    for (let cut = good.indexOf('\n') + 1; cut < good.length - 1; cut += 7) {
      const error = await failure([good.slice(0, cut)]);
      expect(error.line).toBeGreaterThan(1);
    }
    const without_payout = rows.slice(0, 3).join('\n') + '\n';
    expectFailure(await failure(without_payout), 3, /without a MerchantPayout/);
    expect((await failure(rows[0] + '\n')).message).toMatch(/no lines/);
  });

  it("a report cut after one merchant account's payout line, before another's", async () => {
    const two = numbered([line(), line({ merchant_account: 'acct_2', psp_reference: 'ch_2' }), payout(), payout({ merchant_account: 'acct_2' })]);
    expect(await readSettlementReport([serializeSettlementReport(two)])).toHaveLength(4);
    const cut = serializeSettlementReport(two.slice(0, 3));
    expectFailure(await failure(cut), 4, /acct_2.*no MerchantPayout line/);
  });

  it('a line after the payout, or from another batch', async () => {
    const after = serializeSettlementReport(numbered([line(), payout(), line()]));
    expectFailure(await failure(after), 4, /after the batch's MerchantPayout/);
    const other = serializeSettlementReport(numbered([line(), line({ batch_number: 8 }), payout()]));
    expectFailure(await failure(other), 3, /Batch Number/);
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.js';
import { withTransaction } from '../../src/platform/db.js';
import { postTransfers, transferId } from '../../src/services/ledger/index.js';
import type { TransferRequest } from '../../src/services/ledger/index.js';
import type { SettlementLine } from '../../src/services/settlement/index.js';
import { importSettlementReport, serializeSettlementReport } from '../../src/services/settlement/index.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * A settlement import in its own process, SIGKILLed three times (test/support/settlement-crash-child.ts):
 * while staging the report, once it is staged and nothing posted, and in the middle of posting, with a chunk's
 * transfers written and not committed. Run again, every line is posted exactly once: no settlement
 * twice, none lost, the processor's receivable cleared to zero.
 */
const MERCHANT = 'acct_settlementCrash01';
const CHARGES = 1_200; // three posting chunks of 500
const T0 = 1_790_000_000;
const WAIT_LIMIT_MS = 60_000;

let db: MigratedDatabase;
let dir: string;
let report_file: string;

beforeAll(async () => {
  db = await createMigratedPool(4);
  dir = mkdtempSync(join(tmpdir(), 'payrail-settlement-crash-'));
  report_file = join(dir, 'report.csv');
  const captures: TransferRequest[] = [];
  const lines: SettlementLine[] = [];
  for (let i = 0; i < CHARGES; i++) {
    const charge = `ch_crash${String(i).padStart(6, '0')}`;
    const gross = 1_000 + i;
    captures.push({
      id: transferId('capture', charge, T0),
      merchant_id: MERCHANT,
      currency: 'usd',
      kind: 'capture',
      source_id: charge,
      postings: [
        { account: 'processor_receivable', amount: gross },
        { account: 'merchant_pending', amount: -gross },
      ],
      cause: { event_id: `evt_${charge}`, type: 'charge.succeeded' },
      created: T0,
      available_on: null,
    });
    lines.push(settled(i + 2, charge, gross));
  }
  lines.push(
    payout(
      CHARGES + 2,
      lines.reduce((sum, l) => sum + (l.net_credit ?? 0), 0),
    ),
  );
  await withTransaction(db.pool, (tx) => postTransfers(tx, captures));
  writeFileSync(report_file, serializeSettlementReport(lines));
});
afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function settled(line: number, charge: string, gross: number): SettlementLine {
  return {
    line,
    company_account: 'PayrailSandbox',
    merchant_account: MERCHANT,
    psp_reference: charge,
    merchant_reference: charge,
    payment_method: 'card',
    creation_date: '2026-09-21 10:00:00',
    time_zone: 'UTC',
    type: 'Settled',
    modification_reference: charge,
    gross_currency: 'usd',
    gross_debit: null,
    gross_credit: gross,
    exchange_rate: '1',
    net_currency: 'usd',
    net_debit: null,
    net_credit: gross - 25,
    commission: 12,
    markup: 2,
    scheme_fees: 1,
    interchange: 10,
    payment_method_variant: 'card',
    modification_merchant_reference: charge,
    batch_number: 20_718,
  };
}

function payout(line: number, net: number): SettlementLine {
  return {
    ...settled(line, '', 0),
    psp_reference: '',
    merchant_reference: '',
    payment_method: '',
    type: 'MerchantPayout',
    modification_reference: '',
    gross_currency: '',
    gross_credit: null,
    exchange_rate: '',
    net_credit: null,
    net_debit: net,
    commission: null,
    markup: null,
    scheme_fees: null,
    interchange: null,
    payment_method_variant: '',
    modification_merchant_reference: '',
  };
}

function crashingImport(at: 'mid_stage' | 'after_stage' | 'mid_chunk'): Promise<NodeJS.Signals | number | null> {
  const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'test/support/settlement-crash-child.ts'], {
    env: { ...process.env, SETTLEMENT_CRASH_URL: db.url, SETTLEMENT_CRASH_FILE: report_file, SETTLEMENT_CRASH_AT: at },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the import was never killed')), WAIT_LIMIT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? code);
    });
  });
}

async function state(): Promise<{ outcomes: Record<string, number>; settlements: number; receivable: number; cash: number }> {
  const outcomes = await db.pool.query<{ outcome: string; n: number }>('SELECT outcome, count(*)::int AS n FROM settlement.report_lines GROUP BY outcome');
  const settlements = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'settlement'");
  const balance = async (code: string) =>
    Number(
      (
        await db.pool.query<{ b: string }>('SELECT debits_posted - credits_posted AS b FROM ledger.accounts WHERE merchant_id = $1 AND code = $2', [
          MERCHANT,
          code,
        ])
      ).rows[0]?.b ?? 0,
    );
  return {
    outcomes: Object.fromEntries(outcomes.rows.map((r) => [r.outcome, r.n])),
    settlements: settlements.rows[0]?.n ?? -1,
    receivable: await balance('processor_receivable'),
    cash: await balance('settlement_cash'),
  };
}

describe('a settlement import killed midway', () => {
  it('posts every line exactly once when run again, at either kill point', { timeout: 180_000 }, async () => {
    const gross = Array.from({ length: CHARGES }, (_, i) => 1_000 + i).reduce((a, b) => a + b, 0);

    expect(await crashingImport('mid_stage')).toBe('SIGKILL');
    expect(await state()).toEqual({ outcomes: { pending: 1_000 }, settlements: 0, receivable: gross, cash: 0 });
    const report = async () => (await db.pool.query<{ status: string }>('SELECT status FROM settlement.reports')).rows.map((r) => r.status);
    expect(await report()).toEqual(['staging']);

    expect(await crashingImport('after_stage')).toBe('SIGKILL'); // staging starts over, and completes
    expect(await state()).toEqual({ outcomes: { pending: CHARGES, not_posted: 1 }, settlements: 0, receivable: gross, cash: 0 });
    expect(await report()).toEqual(['staged']);

    expect(await crashingImport('after_stage')).toBe('SIGKILL'); // staging again is a no-op: same report
    expect(await crashingImport('mid_chunk')).toBe('SIGKILL');
    const midway = await state();
    expect(midway.outcomes).toEqual({ posted: 500, pending: CHARGES - 500, not_posted: 1 });
    expect(midway.settlements).toBe(500);

    const summary = await importSettlementReport({ pool: db.pool, clock: systemClock }, 'sandbox', [readFileSync(report_file, 'utf8')]);
    expect(summary.outcomes).toEqual({ pending: 0, posted: CHARGES, already_settled: 0, unmatched: 0, not_posted: 1 });
    expect(await state()).toEqual({ outcomes: { posted: CHARGES, not_posted: 1 }, settlements: CHARGES, receivable: 0, cash: gross - 25 * CHARGES });
  });
});

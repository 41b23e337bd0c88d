import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import { SandboxProcessor } from '../../src/services/connectors/index.js';
import type { SettlementRunDeps } from '../../src/services/settlement/index.js';
import {
  SettlementReportError,
  batchDate,
  importSettlementReport,
  readSettlementReport,
  serializeSettlementReport,
  settleDay,
  settleDueDays,
} from '../../src/services/settlement/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

const DAY_MS = 86_400_000;
// 10:00 UTC on a fixed day, so every payment of a test day falls in one batch date.
const START_MS = Date.UTC(2026, 10, 2, 10);
const clock = new ManualClock(START_MS);
let t: TestPlatform;
let deps: SettlementRunDeps;
let merchant_id: string;

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  const pool = t.platform.database.pool;
  deps = { pool, clock, connector: new SandboxProcessor({ pool, clock }) };
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants LIMIT 1')).rows[0]?.id ?? '';
});
afterAll(async () => {
  await t?.stop();
});

async function ledgerCaughtUp(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) {
    if (Date.now() > deadline) throw new Error('the ledger did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function pay(amount: number): Promise<string> {
  const intent = await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  return chargeIdOf(intent);
}

async function balances(): Promise<Record<string, number>> {
  const rows = await t.owner.query<{ code: string; balance: string }>(
    `SELECT code, CASE WHEN normal = 'debit' THEN debits_posted - credits_posted ELSE credits_posted - debits_posted END AS balance
     FROM ledger.accounts WHERE merchant_id = $1 AND currency = 'usd'`,
    [merchant_id],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.code, Number(r.balance)]));
}

/** The real CLI (src/cli.ts), on the platform's database. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/vite-node/vite-node.mjs', 'src/cli.ts', ...args],
      { env: { ...process.env, DATABASE_URL: t.config.database_url }, timeout: 50_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function verifiedClean(): Promise<void> {
  const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
  expect(report.problems).toEqual([]);
}

describe('one day settled', () => {
  const day = batchDate(START_MS);

  it("the sandbox's report for a known day: Settled and Refunded lines with the schedule's fees, and the payout", async () => {
    const first = await pay(2000);
    await pay(1050);
    await pay(1550);
    await t.stripe.refunds.create({ charge: first, amount: 500 });
    await ledgerCaughtUp();
    const source = await deps.connector.settlementReport?.(day);
    expect(source).not.toBeNull();
    const lines = await readSettlementReport(source ?? []);
    expect(lines.map((l) => [l.type, l.gross_credit, l.gross_debit, l.interchange, l.scheme_fees, l.markup, l.commission, l.net_credit, l.net_debit])).toEqual([
      ['Settled', 2000, null, 30, 3, 4, 12, 1951, null],
      ['Settled', 1050, null, 16, 1, 2, 12, 1019, null],
      ['Settled', 1550, null, 23, 2, 3, 12, 1510, null],
      ['Refunded', null, 500, null, null, null, 12, null, 512],
      ['MerchantPayout', null, null, null, null, null, null, null, 1951 + 1019 + 1510 - 512],
    ]);
    expect(lines.every((l) => l.merchant_account === merchant_id && l.batch_number === lines[0]?.batch_number)).toBe(true);
    expect(lines[0]?.psp_reference).toBe(first);
    expect(await deps.connector.settlementReport?.(batchDate(START_MS - DAY_MS))).toBeNull();
  });

  it('settling clears the receivable, books processor fees apart from platform fees, and puts the net in settlement cash', async () => {
    const before = await balances();
    expect(before.processor_receivable).toBe(4600 - 500);
    clock.advance(DAY_MS);
    await settleDueDays(deps);
    const summary = (await settleDay(deps, day)).report;
    expect(summary?.outcomes).toEqual({ pending: 0, posted: 4, already_settled: 0, unmatched: 0, not_posted: 1 });
    const after = await balances();
    expect(after.processor_receivable).toBe(0);
    expect(after.processor_fees).toBe(49 + 31 + 40 + 12);
    expect(after.settlement_cash).toBe(3968);
    // Payrail's own fees are untouched: the margin is platform_fees less processor_fees.
    expect(after.platform_fees).toBe(before.platform_fees);
    await verifiedClean();
  });

  it('importing the same report again changes nothing; the same batch with other content is refused', async () => {
    const before = await balances();
    const lines = await readSettlementReport((await deps.connector.settlementReport?.(day)) ?? []);
    const again = await importSettlementReport(deps, 'sandbox', [serializeSettlementReport(lines)]);
    expect(again.staged_now).toBe(false);
    const changed = lines.map((l) => (l.type === 'Settled' ? { ...l, gross_credit: (l.gross_credit ?? 0) + 1, net_credit: (l.net_credit ?? 0) + 1 } : l));
    await expect(importSettlementReport(deps, 'sandbox', [serializeSettlementReport(changed)])).rejects.toThrow(/imported before with other content/);
    expect(await balances()).toEqual(before);
  });

  it('payrail settle --date settles a day again with no second effect, and refuses a day that does not exist', { timeout: 60_000 }, async () => {
    const before = await balances();
    const again = await cli('settle', '--date', day);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toMatch(new RegExp(`^${day}: batch \\d+, 5 lines \\(imported before\\): 4 posted, 1 not_posted\\n$`));
    expect(await balances()).toEqual(before);
    expect(await cli('settle', '--date', '2026-02-30')).toMatchObject({ code: 2, stderr: expect.stringContaining('--date must be a day') as string });
  });

  it('a malformed report is refused whole, naming its line, and stores nothing', async () => {
    const lines = await readSettlementReport((await deps.connector.settlementReport?.(day)) ?? []);
    const other_batch = lines.map((l) => ({ ...l, batch_number: l.batch_number + 1000 }));
    const csv = serializeSettlementReport(other_batch).replace('20.00', '20.001');
    const error = await importSettlementReport(deps, 'sandbox', [csv]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettlementReportError);
    expect((error as SettlementReportError).line).toBe(2);
    const stored = await t.owner.query('SELECT 1 FROM settlement.report_lines WHERE batch_number = $1', [(lines[0]?.batch_number ?? 0) + 1000]);
    expect(stored.rowCount).toBe(0);
  });
});

describe('a settlement run that dies midway', () => {
  it('leaves every line posted with its transfer or pending without one, and the next run posts each once', async () => {
    const day_ms = clock.now_ms();
    for (let i = 0; i < 20; i++) await pay(1000 + i);
    await ledgerCaughtUp();
    const csv = serializeSettlementReport(await readSettlementReport((await deps.connector.settlementReport?.(batchDate(day_ms))) ?? []));
    // The connection dies as the first chunk records its lines' outcomes, after its transfers were written.
    const dying = { ...deps, pool: dyingAt(deps.pool, 'UPDATE settlement.report_lines l SET outcome') };
    await expect(importSettlementReport(dying, 'sandbox', [csv])).rejects.toThrow(/connection died/);
    const settled = async () =>
      (await t.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'settlement' AND merchant_id = $1", [merchant_id]))
        .rows[0]?.n;
    expect(await settled()).toBe(3); // the first day's only: the dead chunk's transfers rolled back with it
    const summary = await importSettlementReport(deps, 'sandbox', [csv]);
    expect(summary.outcomes).toMatchObject({ pending: 0, posted: 20, already_settled: 0 });
    expect(await settled()).toBe(3 + 20);
    expect(await importSettlementReport(deps, 'sandbox', [csv])).toMatchObject({ staged_now: false, outcomes: { posted: 20 } });
    expect(await settled()).toBe(3 + 20);
    await verifiedClean();
  });
});

describe('a chargeback', () => {
  it("is settled against the charge: the dispute's claw-back and the processor's Chargeback line clear the receivable", { timeout: 60_000 }, async () => {
    clock.advance(DAY_MS);
    const day_ms = clock.now_ms();
    const intent = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true });
    const charge = chargeIdOf(intent);
    // The disputes service hears of it from the sandbox (a job every second) and takes the money back.
    const deadline = Date.now() + 20_000;
    while ((await t.owner.query("SELECT 1 FROM ledger.transfers WHERE kind = 'dispute' AND merchant_id = $1", [merchant_id])).rowCount === 0) {
      if (Date.now() > deadline) throw new Error('the dispute was never posted');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await ledgerCaughtUp();
    const lines = await readSettlementReport((await deps.connector.settlementReport?.(batchDate(day_ms))) ?? []);
    expect(lines.filter((l) => l.psp_reference === charge).map((l) => [l.type, l.gross_credit, l.gross_debit, l.net_debit])).toEqual([
      ['Settled', 3000, null, null],
      ['Chargeback', null, 3000, 3000],
    ]);
    clock.advance(DAY_MS);
    const settled = await settleDueDays(deps);
    expect(settled.map((d) => d.batch_date)).toContain(batchDate(day_ms));
    const kinds = await t.owner.query<{ kind: string }>('SELECT kind FROM ledger.transfers WHERE merchant_id = $1 AND source_id = $2 ORDER BY kind', [
      merchant_id,
      charge,
    ]);
    expect(kinds.rows.map((r) => r.kind)).toEqual(['capture', 'chargeback_settlement', 'settlement']);
    expect((await balances()).processor_receivable).toBe(0);
    await verifiedClean();
  });
});

/** The pool, except that a statement containing `marker` fails as if the connection had died. */
function dyingAt(pool: SettlementRunDeps['pool'], marker: string): SettlementRunDeps['pool'] {
  const forward = <T extends object>(target: T, override: (prop: string | symbol) => unknown): T =>
    new Proxy(target, {
      get(object, prop) {
        const replaced = override(prop);
        if (replaced !== undefined) return replaced;
        const value: unknown = Reflect.get(object, prop);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
  return forward(pool, (prop) =>
    prop === 'connect'
      ? async () => {
          const client = await pool.connect();
          return forward(client, (p) =>
            p === 'query'
              ? (query: unknown, ...rest: unknown[]) => {
                  const text = typeof query === 'string' ? query : (query as { text?: string }).text;
                  if (text?.includes(marker)) return Promise.reject(new Error('connection died'));
                  return (client.query as (...args: unknown[]) => unknown)(query, ...rest);
                }
              : undefined,
          );
        }
      : undefined,
  );
}

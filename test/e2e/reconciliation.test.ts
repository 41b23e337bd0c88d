import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import { SANDBOX_TERMS, SettlementReportError, reconcileDay, serializeSettlementReport, readSettlementReport } from '../../src/services/settlement/index.js';
import { SandboxProcessor } from '../../src/services/connectors/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Reconciliation in the running platform: the scheduled work reconciles a settled day, the admin API
 * and the CLI list it; a report cut short is refused whole, naming its line; the CLI with the
 * sandbox's fault knob reports each faulty line with its evidence and exits 1.
 */

const DAY_MS = 86_400_000;
const ADMIN_TOKEN = 'adm_reconciliation_0123456789abcdefghijklmnopqrstuv';
const START_MS = Date.UTC(2026, 10, 2, 10);
const clock = new ManualClock(START_MS);
let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN }, { clock });
});
afterAll(async () => {
  await t?.stop();
});

async function ledgerCaughtUp(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) {
    if (Date.now() > deadline) throw new Error('the ledger did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function payments(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000 + i * 111, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    if (i === 0) await t.stripe.refunds.create({ payment_intent: intent.id, amount: 300 });
  }
  await t.stripe.paymentIntents.create({ amount: 700, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }).catch(() => undefined);
  await ledgerCaughtUp();
}

/** A payment the cardholder disputes at once: its report has a Settled and a Chargeback line. */
async function disputed(): Promise<void> {
  await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true });
  await ledgerCaughtUp();
}

async function admin(path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.url}/admin/v1${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/vite-node/vite-node.mjs', 'src/cli.ts', ...args],
      { env: { ...process.env, DATABASE_URL: t.config.database_url, ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('reconciliation in the platform', () => {
  let run_id = '';

  it('reconciles a day once the settlement run has settled it, and the admin API lists it', async () => {
    await payments(3);
    await disputed();
    clock.advance(DAY_MS);
    // By hand, as the scheduled jobs do (which may get there first: a run happens once either way).
    await t.platform.settlement.runDue();
    await t.platform.reconciliation.runDue();
    expect(await t.platform.reconciliation.runDue()).toEqual([]);
    const runs = await t.owner.query<{ id: string; matched: number; open: number }>(
      `SELECT id, matched, open FROM settlement.reconciliation_runs WHERE report_date = '2026-11-02'`,
    );
    // Four captures, one refund and one chargeback (against its charge), each matched; nothing open;
    // the declined payment moved nothing.
    expect(runs.rows).toMatchObject([{ matched: 6, open: 0 }]);
    run_id = runs.rows[0]?.id ?? '';

    expect((await admin('/reconciliation_runs', null)).status).toBe(401);
    expect((await admin('/reconciliation_runs', 'wrong-token-0123456789abcdefghijklmnop')).status).toBe(401);
    const list = await admin('/reconciliation_runs?date=2026-11-02');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false, data: [{ id: run_id, object: 'reconciliation_run', matched: 6, open: 0 }] });
    expect((await admin(`/reconciliation_runs/${run_id}`)).body).toMatchObject({ id: run_id, report: 'sandbox:2026-11-02', lines: 7 });
    expect((await admin(`/reconciliation_runs/${run_id}/exceptions`)).body).toMatchObject({ object: 'list', data: [], has_more: false });
    expect((await admin('/reconciliation_runs/rcrun_nope')).status).toBe(404);
    expect((await admin('/reconciliation_runs?date=2026-13-45')).body).toMatchObject({ error: { type: 'invalid_request_error', param: 'date' } });
    // Bad input is a Stripe-shaped 400 or 404, never a 500.
    for (const path of [
      '/reconciliation_runs?limit=0',
      '/reconciliation_runs?limit=abc',
      '/reconciliation_runs?limit=101',
      '/reconciliation_runs?status=open',
      '/reconciliation_runs?date[]=2026-11-02',
      `/reconciliation_runs/${run_id}?expand[]=exceptions`,
      `/reconciliation_runs/${run_id}/exceptions?starting_after=${'x'.repeat(300)}`,
      `/reconciliation_runs/${'r'.repeat(300)}`,
      '/reconciliation_runs/%00',
    ]) {
      const answer = await admin(path);
      expect([400, 404], path).toContain(answer.status);
      expect(answer.body, path).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
  }, 60_000);

  it('refuses a report cut short whole, naming the line, and keeps nothing of it', async () => {
    const clean = await new SandboxProcessor({ pool: t.platform.database.pool }).settlementReport('2026-11-02');
    const text = serializeSettlementReport(await readSettlementReport(clean ?? []));
    const cut = text.slice(0, text.lastIndexOf('\n', text.length - 2) - 7);
    const reports = {
      name: 'cut',
      settlementReport: async () =>
        (async function* () {
          yield cut;
        })(),
    };
    const deps = { pool: t.platform.database.pool, payments: ledgerRecords, terms: SANDBOX_TERMS, ids: new UlidGenerator(clock), clock, reports };
    const refused = await reconcileDay(deps, '2026-11-02').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SettlementReportError);
    expect((refused as SettlementReportError).line).toBeGreaterThan(1);
    const kept = await t.owner.query(`SELECT 1 FROM settlement.reconciliation_runs WHERE report_id = 'cut:2026-11-02'`);
    expect(kept.rows).toEqual([]);
    const matched = await t.owner.query(`SELECT 1 FROM settlement.reconciliation_matches WHERE report_id = 'cut:2026-11-02'`);
    expect(matched.rows).toEqual([]);
  }, 60_000);

  it('the CLI lists and shows runs, re-runs a day without a second effect, and reports a faulty day with exit 1', async () => {
    const listed = await cli({}, 'reconcile', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${run_id}  2026-11-02  report sandbox:2026-11-02: 7 lines, 6 matched, 0 auto-fixed, 0 open`);
    const again = await cli({}, 'reconcile', '--date', '2026-11-02');
    expect(again.stdout).toContain('6 matched, 0 auto-fixed, 0 open');
    expect(again.code).toBe(0);
    expect((await t.owner.query(`SELECT runs FROM settlement.reconciliation_runs WHERE id = $1`, [run_id])).rows).toEqual([{ runs: 2 }]);

    // The next day, with every Settled and Refunded line's amount made wrong by the test-mode knob.
    await payments(2);
    clock.advance(DAY_MS);
    const faulty = await cli({ PAYRAIL_SANDBOX_DISCREPANCIES: 'seed=e2e,amount_mismatch=1000000' }, 'reconcile', '--date', '2026-11-03');
    expect(faulty.stdout, faulty.stderr).toContain('0 matched, 0 auto-fixed, 3 open (new: 3 amount_mismatch)');
    expect(faulty.code).toBe(1);
    const id = /^(rcrun_\w+)/.exec(faulty.stdout)?.[1] ?? '';
    const shown = await cli({}, 'reconcile', 'show', id);
    expect(shown.code).toBe(0);
    const exceptions = shown.stdout
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as { class: string; status: string; evidence: { report_line: { gross_credit: number | null }; payrail_record: { amount: number } } },
      );
    expect(exceptions).toHaveLength(3);
    for (const exception of exceptions) {
      expect(exception).toMatchObject({ class: 'amount_mismatch', status: 'open' });
      expect(exception.evidence.payrail_record.amount).toBeGreaterThan(0);
    }
  }, 300_000);
});

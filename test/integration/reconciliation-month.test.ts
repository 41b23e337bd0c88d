import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { createPool } from '../../src/platform/db.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { SandboxProcessor } from '../../src/services/connectors/index.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { DiscrepancyKind, Injection } from '../../src/services/settlement/domain/discrepancies.js';
import { DISCREPANCY_KINDS, EXPECTED_EXCEPTION } from '../../src/services/settlement/domain/discrepancies.js';
import { addDays } from '../../src/services/settlement/domain/reconciliation.js';
import { withDiscrepancies } from '../../src/services/settlement/adapters/discrepant-reports.js';
import { SANDBOX_TERMS } from '../../src/services/settlement/app/processor-terms.js';
import type { ReconcileDeps, RunSummary } from '../../src/services/settlement/app/reconcile.js';
import type { SettlementReports } from '../../src/services/settlement/app/reconcile-day.js';
import { reconcileDay } from '../../src/services/settlement/app/reconcile-day.js';
import { DB_ROLES } from '../../src/platform/rls.js';
import { metrics } from '../../src/platform/metrics.js';
import { listEvents, retrieveEvent } from '../../src/services/events/app/queries.js';
import { createMigratedPool } from '../support/database.js';
import type { MonthFacts } from '../support/settlement-month.js';
import { writeMonth } from '../support/settlement-month.js';

/**
 * A simulated month of payments, refunds and failures, settled by the sandbox processor day by day
 * and reconciled day by day: a clean month (September) reports nothing; a month whose reports carry a
 * seeded plan of every kind of fault (November) reports each injected fault exactly once, with its
 * class and status, and nothing else; re-running a day changes nothing.
 */

const MERCHANTS = ['acct_reconA000000000000000001', 'acct_reconB000000000000000002', 'acct_reconC000000000000000003'];
const DAYS = 30;
const PER_DAY = 400;
/** Each kind on about 0.3% of the month's ~12 000 lines: some 35 of each. */
const PLAN = { seed: 'november', rates_ppm: Object.fromEntries(DISCREPANCY_KINDS.map((kind) => [kind, 3_000])) as Record<DiscrepancyKind, number> };

let owner: Pool;
let system: Pool;
let drop: () => Promise<void>;
let september: MonthFacts;
let november: MonthFacts;

function deps(reports: SettlementReports): ReconcileDeps & { reports: SettlementReports } {
  const clock = new ManualClock(Date.parse('2026-12-05T04:00:00Z'));
  return { pool: system, payments: ledgerRecords, terms: SANDBOX_TERMS, ids: new UlidGenerator(clock), clock, reports };
}

/** Every day of the month, and the days after it that late lines and missing objects are reported in. */
async function reconcileMonth(first_day: string, reports: SettlementReports): Promise<RunSummary[]> {
  // The first day twice at once, as two processes racing on one job: one waits for the other.
  const [first, raced] = await Promise.all([reconcileDay(deps(reports), first_day), reconcileDay(deps(reports), first_day)]);
  expect([first?.new_exceptions, raced?.new_exceptions].filter((n) => n !== 0).length).toBeLessThanOrEqual(1);
  const runs: RunSummary[] = [first];
  for (let day = 1; day < DAYS + 2; day++) runs.push(await reconcileDay(deps(reports), addDays(first_day, day)));
  return runs;
}

interface ExceptionRecord {
  class: string;
  status: string;
  reference: string;
  merchant_id: string | null;
  transfer_id: string | null;
}

async function exceptionsOfMonth(first_day: string): Promise<ExceptionRecord[]> {
  const result = await owner.query<ExceptionRecord>(
    `SELECT e.class, e.status, e.reference, e.merchant_id, e.transfer_id FROM settlement.reconciliation_exceptions e
     JOIN settlement.reconciliation_runs r ON r.id = e.run_id WHERE r.report_date >= $1 AND r.report_date < $2`,
    [first_day, addDays(first_day, DAYS + 2)],
  );
  return result.rows;
}

beforeAll(async () => {
  metrics.enable();
  let owner_url: string;
  ({ pool: owner, drop, url: owner_url } = await createMigratedPool(4));
  // Reconciliation runs as the system role, as the platform runs it.
  const url = new URL(owner_url);
  url.username = DB_ROLES.system;
  system = createPool(url.toString(), 4);
  september = await writeMonth(owner, { first_day: '2026-09-01', days: DAYS, payments_per_day: PER_DAY, merchants: MERCHANTS, seed: 10 });
  november = await writeMonth(owner, { first_day: '2026-11-01', days: DAYS, payments_per_day: PER_DAY, merchants: MERCHANTS, seed: 11 });
}, 60_000);

afterAll(async () => {
  await system.end();
  await drop();
});

describe('reconciliation over a simulated month', () => {
  it('a clean month matches every line and reports nothing', async () => {
    expect(september.charges).toBe(DAYS * PER_DAY);
    expect(september.declined).toBeGreaterThan(0);
    expect(september.failed_refunds).toBeGreaterThan(0);
    const runs = await reconcileMonth('2026-09-01', new SandboxProcessor({ pool: owner }));
    const lines = runs.reduce((sum, run) => sum + run.lines, 0);
    const matched = runs.reduce((sum, run) => sum + run.matched, 0);
    // Every captured charge and every succeeded refund is one matched line; the rest are payouts.
    expect(matched).toBe(september.charges - september.declined + september.refunds - september.failed_refunds);
    expect(lines).toBeGreaterThan(matched);
    expect(runs.map((run) => run.open + run.auto_fixed)).toEqual(runs.map(() => 0));
    expect(await exceptionsOfMonth('2026-09-01')).toEqual([]);
  }, 60_000);

  it('reports every injected discrepancy exactly once, with its class and status, and nothing else', async () => {
    // What each day's report carries (a day read twice, by the racing runs, carries the same).
    const by_day = new Map<string, readonly Injection[]>();
    const reports = withDiscrepancies(new SandboxProcessor({ pool: owner }), PLAN, (day, list) => by_day.set(day, list));
    const runs = await reconcileMonth('2026-11-01', reports);
    const injected = [...by_day.values()].flat();
    // Each run's totals count what it found: exceptions of this month and the matched lines.
    const matched = runs.reduce((sum, run) => sum + run.matched, 0);
    expect(matched).toBeLessThan(november.charges - november.declined + november.refunds - november.failed_refunds);
    expect(runs.reduce((sum, run) => sum + run.open + run.auto_fixed, 0)).toBe(injected.length);
    for (const kind of DISCREPANCY_KINDS) expect(injected.filter((i) => i.kind === kind).length, kind).toBeGreaterThan(10);

    const found = await exceptionsOfMonth('2026-11-01');
    // The metric counts each new exception once, by class and status, as the alert reads it.
    const counted = (await metrics.registry.getSingleMetric('payrail_reconciliation_exceptions_total')?.get())?.values ?? [];
    for (const status of ['open', 'auto_fixed']) {
      const total = counted.filter((v) => v.labels.status === status).reduce((sum, v) => sum + v.value, 0);
      expect(total, status).toBe(found.filter((e) => e.status === status).length);
    }
    const expected = injected.map((i) => ({ ...EXPECTED_EXCEPTION[i.kind], reference: i.reference }));
    const key = (e: { class: string; status: string; reference: string }) => `${e.class} ${e.status} ${e.reference}`;
    expect(found.map(key).sort()).toEqual(expected.map(key).sort());
    // A small fee difference is booked as a fee adjustment; nothing else books anything.
    const fixed_fees = found.filter((e) => e.class === 'fee_mismatch' && e.status === 'auto_fixed');
    expect(fixed_fees.every((e) => e.transfer_id !== null && e.merchant_id !== null)).toBe(true);
    expect(found.filter((e) => e.transfer_id !== null)).toHaveLength(fixed_fees.length);
    // Lines Payrail has no record of still name the merchant account the processor settled them for.
    expect(found.filter((e) => e.class === 'missing_in_payrail').every((e) => MERCHANTS.includes(e.merchant_id ?? ''))).toBe(true);
  }, 60_000);

  it('re-running a day finds the same exceptions and books nothing again', async () => {
    const before = await exceptionsOfMonth('2026-11-01');
    const adjustments = async () =>
      (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'processor_fee_adjustment'`)).rows[0]?.n;
    const booked = await adjustments();
    const events = async () =>
      (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM events.outbox WHERE type = 'reconciliation.exception.created'`)).rows[0]?.n;
    const emitted = await events();
    // One event per exception with a merchant (all of them here), which /v1/events never shows a merchant.
    expect(emitted).toBe(before.length);
    const merchant = MERCHANTS[0] ?? '';
    const own = await owner.query<{ id: string }>(`SELECT id FROM events.outbox WHERE merchant_id = $1 AND type = 'reconciliation.exception.created'`, [
      merchant,
    ]);
    expect(own.rows.length).toBeGreaterThan(0);
    expect((await listEvents(owner, merchant, { limit: 100 }, [])).data).toEqual([]);
    await expect(retrieveEvent(owner, merchant, own.rows[0]?.id ?? '')).rejects.toMatchObject({ code: 'resource_missing' });
    const reports = withDiscrepancies(new SandboxProcessor({ pool: owner }), PLAN);
    for (const day of ['2026-11-10', '2026-11-20', '2026-12-01']) {
      const again = await reconcileDay(deps(reports), day);
      expect(again.new_exceptions).toBe(0);
    }
    expect(await exceptionsOfMonth('2026-11-01')).toEqual(before);
    expect(await adjustments()).toBe(booked);
    expect(await events()).toBe(emitted);
    const runs = await owner.query<{ runs: number }>(`SELECT runs FROM settlement.reconciliation_runs WHERE report_date = '2026-11-20'`);
    expect(runs.rows).toEqual([{ runs: 2 }]);
  }, 60_000);
});

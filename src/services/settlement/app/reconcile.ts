import type pg from 'pg';
import type { Pool } from '../../../platform/db.js';
import { withTransaction } from '../../../platform/db.js';
import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { assert } from '../../../kernel/assert.js';
import { metrics } from '../../../platform/metrics.js';
import type { PaymentsRecords } from '../../ledger/index.js';
import type { ExceptionClass, ReportLine } from '../domain/reconciliation.js';
import { EXCEPTION_CLASSES, isDay, runId } from '../domain/reconciliation.js';
import type { ExceptionRow, RunTotals } from '../adapters/reconciliation-store.js';
import { closeRun, insertExceptions, openRun } from '../adapters/reconciliation-store.js';
import type { ProcessorTerms } from './processor-terms.js';
import type { BatchContext } from './reconcile-batch.js';
import { reconcileBatch } from './reconcile-batch.js';
import { PayoutCheck } from '../domain/payout-check.js';
import { findMissingAtProcessor } from './reconcile-missing.js';
import { applyRemedies } from './remediate.js';

/**
 * A reconciliation run: one processor report, streamed line by line in batches against Payrail's
 * records, then Payrail's records the processor should have settled by now and has not. The whole
 * run is one transaction: a report that turns out malformed or cut short at its last line is
 * refused whole (the parser throws, naming the line) and nothing of it is kept. Re-running a report
 * finds the same exceptions (their ids are derived), books no second fee adjustment and emits no
 * second event; only its totals and `runs` count are written again.
 */

export interface ReconcileDeps {
  /** The system role's pool: reconciliation spans merchants. */
  pool: Pool;
  payments: PaymentsRecords;
  terms: ProcessorTerms;
  ids: IdGenerator;
  clock: Clock;
}

export interface ReportToReconcile {
  report_id: string;
  /** The day the processor produced the report (YYYY-MM-DD, UTC). */
  report_date: string;
  lines: AsyncIterable<ReportLine> | Iterable<ReportLine>;
}

export interface RunSummary extends RunTotals {
  run_id: string;
  report_id: string;
  report_date: string;
  /** Exceptions this run found for the first time (a re-run finds none). */
  new_exceptions: number;
  /** New exceptions by class, and of them those left open. */
  by_class: Record<ExceptionClass, number>;
  new_open: Record<ExceptionClass, number>;
}

export const RECONCILE_LIMITS = {
  /** Report lines looked up together: three queries per batch, whatever the report's size. */
  batch_lines: 5_000,
  report_id_length_max: 255,
} as const;

export async function reconcileReport(deps: ReconcileDeps, report: ReportToReconcile): Promise<RunSummary> {
  assert(isDay(report.report_date), 'report_date must be YYYY-MM-DD');
  assert(report.report_id.length > 0 && report.report_id.length <= RECONCILE_LIMITS.report_id_length_max, 'report_id out of range');
  const run_id = runId(report.report_id);
  const started_at = Math.floor(deps.clock.now_ms() / 1000);
  const ctx: BatchContext = {
    payouts: new PayoutCheck(),
    report_id: report.report_id,
    report_date: report.report_date,
    run_id,
    now_s: started_at,
    terms: deps.terms,
    payments: deps.payments,
  };
  const summary = await withTransaction(
    deps.pool,
    async (tx) => {
      await openRun(tx, { id: run_id, report_id: report.report_id, report_date: report.report_date, started_at });
      const tally = new Tally();
      const reconcile = async (lines: ReportLine[]) => {
        const result = await reconcileBatch(tx, lines, ctx);
        tally.lines += lines.length;
        tally.matched += result.matched;
        await tally.save(tx, deps, result.exceptions);
      };
      // The next batch is read while the database works on this one; batches still run in order.
      let batch: ReportLine[] = [];
      let in_flight: Promise<void> = Promise.resolve();
      for await (const line of report.lines) {
        batch.push(line);
        if (batch.length < RECONCILE_LIMITS.batch_lines) continue;
        await in_flight;
        in_flight = reconcile(batch);
        // Observed by the next await; a report refused meanwhile rolls back what it did.
        in_flight.catch(() => {});
        batch = [];
      }
      await in_flight;
      await reconcile(batch);
      await findMissingAtProcessor(tx, ctx, (rows) => tally.save(tx, deps, rows));
      await closeRun(tx, run_id, tally, Math.floor(deps.clock.now_ms() / 1000));
      return { run_id, report_id: report.report_id, report_date: report.report_date, ...tally.totals() };
    },
    { first_statement: `SELECT pg_advisory_xact_lock(hashtextextended('payrail.reconcile:${run_id}', 0))` },
  );
  for (const cls of EXCEPTION_CLASSES) {
    metrics.reconciliationExceptions(cls, 'open', summary.new_open[cls]);
    metrics.reconciliationExceptions(cls, 'auto_fixed', summary.by_class[cls] - summary.new_open[cls]);
  }
  return summary;
}

/** A run's running totals; saves each batch's exceptions and remediates the new ones. */
class Tally implements RunTotals {
  lines = 0;
  matched = 0;
  auto_fixed = 0;
  open = 0;
  new_exceptions = 0;
  readonly by_class = perClass();
  readonly new_open = perClass();

  async save(tx: pg.PoolClient, deps: ReconcileDeps, rows: ExceptionRow[]): Promise<void> {
    for (const row of rows) {
      if (row.status === 'open') this.open += 1;
      else this.auto_fixed += 1;
    }
    const fresh = await insertExceptions(tx, rows);
    const created = rows.filter((row) => fresh.has(row.id));
    for (const row of created) {
      this.by_class[row.class] += 1;
      if (row.status === 'open') this.new_open[row.class] += 1;
    }
    this.new_exceptions += created.length;
    await applyRemedies(tx, deps, created);
  }

  totals(): Omit<RunSummary, 'run_id' | 'report_id' | 'report_date'> {
    const { lines, matched, auto_fixed, open, new_exceptions, by_class, new_open } = this;
    return { lines, matched, auto_fixed, open, new_exceptions, by_class, new_open };
  }
}

function perClass(): Record<ExceptionClass, number> {
  return Object.fromEntries(EXCEPTION_CLASSES.map((cls) => [cls, 0])) as Record<ExceptionClass, number>;
}

import type { Logger } from '../../../platform/logger.js';
import { run, sql } from '../../../platform/db.js';
import { parseSettlementReport } from '../adapters/settlement-report-csv.js';
import type { ReconcileDeps, RunSummary } from './reconcile.js';
import { reconcileReport } from './reconcile.js';

/**
 * A day's reconciliation: the processor's settlement report for the day, fetched through the
 * connector port (reading it changes nothing), parsed as it streams and reconciled. A day the
 * processor settled nothing in has no report; its run still looks for objects due before it that no
 * report settled. The scheduled job runs it for each day once the settlement run has settled it.
 */

/** The part of the connector port reconciliation reads. */
export interface SettlementReports {
  readonly name: string;
  settlementReport?(batch_date: string): Promise<AsyncIterable<string> | null>;
}

export const RECONCILE_JOB = 'settlement-reconcile';
/** Looking for settled days not yet reconciled is one indexed query; every 30 s keeps tests that move time quick. */
export const RECONCILE_CHECK_INTERVAL_MS = 30_000;
/** Days one run reconciles at most (a stopped server catches up over several runs). */
export const RECONCILE_DAYS_PER_RUN_MAX = 31;

/** A report's id: the processor and its batch date, the same however often it is fetched. */
export function reportId(processor: string, batch_date: string): string {
  return `${processor}:${batch_date}`;
}

export async function reconcileDay(deps: ReconcileDeps & { reports: SettlementReports }, batch_date: string): Promise<RunSummary> {
  if (!deps.reports.settlementReport) throw new Error(`processor ${deps.reports.name} provides no settlement reports to reconcile`);
  const csv = await deps.reports.settlementReport(batch_date);
  const lines = csv === null ? [] : parseSettlementReport(csv);
  return reconcileReport(deps, { report_id: reportId(deps.reports.name, batch_date), report_date: batch_date, lines });
}

/**
 * The scheduled run: every day the settlement run has settled (settlement.days) and no reconciliation
 * has run for, oldest first. Runs after settlement by construction: a day is reconciled once its
 * report has been imported.
 */
export async function reconcileSettledDays(deps: ReconcileDeps & { reports: SettlementReports }, logger: Logger): Promise<RunSummary[]> {
  const due = await run<{ day: string }>(
    deps.pool,
    sql`SELECT to_char(d.batch_date, 'YYYY-MM-DD') AS day FROM settlement.days d
    WHERE d.connector = ${deps.reports.name}
      AND NOT EXISTS (SELECT 1 FROM settlement.reconciliation_runs r WHERE r.report_id = d.connector || ':' || to_char(d.batch_date, 'YYYY-MM-DD'))
    ORDER BY d.batch_date LIMIT ${RECONCILE_DAYS_PER_RUN_MAX}`,
  );
  const summaries: RunSummary[] = [];
  for (const { day } of due.rows) {
    const summary = await reconcileDay(deps, day);
    const fields = {
      run: summary.run_id,
      report: summary.report_id,
      lines: summary.lines,
      matched: summary.matched,
      auto_fixed: summary.auto_fixed,
      open: summary.open,
    };
    if (summary.open > 0) logger.warn(fields, 'reconciliation run left exceptions open');
    else logger.info(fields, 'reconciliation run completed');
    summaries.push(summary);
  }
  return summaries;
}

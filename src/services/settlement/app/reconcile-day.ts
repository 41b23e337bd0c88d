import type { Logger } from '../../../platform/logger.js';
import { addDays, dayOf } from '../domain/reconciliation.js';
import { parseSettlementReport } from '../adapters/settlement-report-csv.js';
import type { ReconcileDeps, RunSummary } from './reconcile.js';
import { reconcileReport } from './reconcile.js';

/**
 * A day's reconciliation: the processor's settlement report for the day, fetched through the
 * connector port (reading it changes nothing), parsed as it streams and reconciled. A day the
 * processor settled nothing in has no report; its run still looks for objects due before it that no
 * report settled. The scheduled job runs it for yesterday, after the day's batch has closed.
 */

/** The part of the connector port reconciliation reads. */
export interface SettlementReports {
  readonly name: string;
  settlementReport?(batch_date: string): Promise<AsyncIterable<string> | null>;
}

export const RECONCILE_JOB = 'settlement-reconcile';
/** 04:00 UTC: after midnight's batch has closed and the settlement run has imported it. */
export const RECONCILE_CRON = '0 4 * * *';

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

/** The scheduled run: yesterday's report, by the injected clock. */
export async function reconcileYesterday(deps: ReconcileDeps & { reports: SettlementReports }, logger: Logger): Promise<RunSummary> {
  const yesterday = addDays(dayOf(Math.floor(deps.clock.now_ms() / 1000)), -1);
  const summary = await reconcileDay(deps, yesterday);
  const log = summary.open > 0 ? logger.warn.bind(logger) : logger.info.bind(logger);
  log(
    { run: summary.run_id, report: summary.report_id, lines: summary.lines, matched: summary.matched, auto_fixed: summary.auto_fixed, open: summary.open },
    'reconciliation run completed',
  );
  return summary;
}

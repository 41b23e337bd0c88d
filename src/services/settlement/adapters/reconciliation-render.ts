import type { ExceptionRow, RunRow } from './reconciliation-store.js';

/** Reconciliation runs and exceptions as the admin API, the CLI's JSON and events show them. */

export function renderRun(run: RunRow): Record<string, unknown> {
  return {
    id: run.id,
    object: 'reconciliation_run',
    report: run.report_id,
    report_date: run.report_date,
    lines: run.lines,
    matched: run.matched,
    auto_fixed: run.auto_fixed,
    open: run.open,
    started_at: run.started_at,
    completed_at: run.completed_at,
    runs: run.runs,
  };
}

export function renderException(row: ExceptionRow): Record<string, unknown> {
  return {
    id: row.id,
    object: 'reconciliation_exception',
    run: row.run_id,
    merchant: row.merchant_id,
    class: row.class,
    status: row.status,
    reference: row.reference,
    line: row.line,
    detail: row.detail,
    adjustment: row.adjustment,
    transfer: row.transfer_id,
    created: row.created,
    evidence: { report_line: row.report_line, payrail_record: row.payrail_record },
  };
}

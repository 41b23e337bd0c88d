/**
 * The settlement service's public entry: processor settlement reports and their import into the
 * ledger, payouts to the merchant's bank, and reconciliation of the processor's reports against
 * Payrail's books. Other modules reach it only through this file.
 */
export { settlementMigrations } from './migrations/index.js';

// Processor settlement reports (Adyen's Settlement details report CSV).
export type { SettlementLine, SettlementLineType, SettlementReportColumn } from './domain/settlement-report.js';
export {
  SETTLEMENT_LINE_TYPES,
  SETTLEMENT_REPORT_COLUMNS,
  SETTLEMENT_REPORT_LIMITS,
  SettlementReportError,
  toMajorUnits,
  toMinorUnits,
} from './domain/settlement-report.js';
export type { ReportSource } from './adapters/settlement-report-csv.js';
export { parseSettlementReport, readSettlementReport, serializeSettlementReport, serializeSettlementReportChunks } from './adapters/settlement-report-csv.js';

// Payouts to the merchant's bank (docs/payouts.md).
export type { PayoutRouteDeps } from './adapters/payout-routes.js';
export { payoutRoutes } from './adapters/payout-routes.js';
export type { PayoutJobDeps, PayoutJobs } from './app/payout-jobs.js';
export { startPayoutJobs } from './app/payout-jobs.js';
export type { BankAnswer, BankRail, BankTransferRequest } from './domain/bank-port.js';
export { payoutTransactions } from './app/payouts.js';
// What an account object shows of payouts, and its schedule's changes (the connect service's account routes).
export { payoutScheduleParams } from './adapters/payout-routes.js';
export type { AccountPayoutParts, ScheduleChange } from './app/payout-account.js';
export { accountPayoutParts, payoutScheduleChange } from './app/payout-account.js';
export type { PayoutSchedule } from './domain/payout-schedule.js';

// Processor settlement: importing reports into the ledger, the daily run (docs/settlement.md).
export type { ImportSummary, SettlementDeps } from './app/import-report.js';
export { importSettlementReport } from './app/import-report.js';
export type { DaySettled, SettlementRunDeps } from './app/settlement-run.js';
export { SETTLEMENT_CHECK_INTERVAL_MS, SETTLEMENT_JOB, batchDate, dayIsOver, isBatchDate, settleDay, settleDueDays } from './app/settlement-run.js';
export type { LineOutcome } from './domain/settlement-posting.js';

// Reconciliation of the processor's reports against Payrail's books (docs/settlement.md#reconciliation).
export type { RunSummary, ReconcileDeps } from './app/reconcile.js';
export { reconcileReport } from './app/reconcile.js';
export type { SettlementReports } from './app/reconcile-day.js';
export { RECONCILE_CHECK_INTERVAL_MS, RECONCILE_JOB, reconcileDay, reconcileSettledDays } from './app/reconcile-day.js';
export type { ProcessorTerms } from './app/processor-terms.js';
export { SANDBOX_TERMS } from './app/processor-terms.js';
export type { ReconciliationRun } from './app/reconciliation-queries.js';
export { RECONCILIATION_LIST_MAX, reconciliationExceptions, reconciliationRun, reconciliationRuns } from './app/reconciliation-queries.js';
export type { ReconciliationRouteDeps } from './adapters/reconciliation-routes.js';
export { reconciliationAdminRoutes } from './adapters/reconciliation-routes.js';
export { sandboxDiscrepancies } from './adapters/discrepant-reports.js';
// The dashboard's payouts page.
export { listPayouts } from './app/payouts.js';

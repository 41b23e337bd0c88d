/** The ledger's public entry: postings from events, balances, verification. */
export type { ChargeFacts, RefundFacts } from './domain/reconcile.js';
export { chargeBalanceTransactionId, refundBalanceTransactionId } from './domain/ids.js';
export type { LedgerRouteDeps } from './adapters/routes.js';
export { ledgerRoutes } from './adapters/routes.js';
export { retrieveBalance, retrieveBalanceTransaction } from './app/balance.js';
export type { LedgerWorker } from './app/worker.js';
export { scheduleLedgerRelease, startLedgerWorker } from './app/worker.js';
export type { VerifyReport } from './app/verify.js';
export type { PaymentsRecords } from './app/reconciliation.js';
export { ledgerVerifyCommand, verifyLedger } from './app/verify.js';
export type { DisputeRecords } from './app/dispute-reconciliation.js';
export type { DisputeFacts } from './domain/dispute-reconcile.js';
export { loadTerms, setMerchantTerms, termsOf } from './app/terms.js';
export type { TransferRequest } from './domain/transfer.js';
export { transferId } from './domain/ids.js';
export { COVERED_TRANSACTIONS_MAX, availableBalances, settlementDelayWrite, transactionsAvailableBetween, transferWrites } from './app/external-postings.js';
export { releaseAllDue } from './app/release.js';
export type { ConnectBalance, ConnectLegs, ConnectMovement, ConnectSide } from './app/connect-postings.js';
export { connectLegs, connectTransferWrites } from './app/connect-postings.js';
export { kindsBySource, postTransfers } from './adapters/store.js';
export type { DisputeMoney } from './domain/dispute-flows.js';
export { disputeFee } from './domain/dispute-flows.js';
export { disputeBalanceTransactions } from './adapters/dispute-render.js';
// Reconciliation (settlement service): transfers by the object they are for, the ledger's own checks, posting.
export type { SourceEntry } from './app/source-entries.js';
export { SOURCE_ENTRIES_MAX, entriesBySource, sourcesBetween } from './app/source-entries.js';
export { chargeProblem, refundProblem } from './domain/reconcile.js';
export { LEDGER_CONSUMER_NAME } from './app/consumer.js';
export { ledgerMigrations } from './migrations/index.js';
// The dashboard's money pages and payment timeline (src/services/dashboard/payments).
export { listBalanceTransactions } from './app/balance.js';
export type { PostedTransfer } from './app/source-postings.js';
export { transfersOfSources } from './app/source-postings.js';

/** The disputes service's public entry: the Disputes API, the processor notification handler, the test-mode decision job, fraud labels. */
export type { DisputesDeps } from './app/deps.js';
export { disputesRoutes } from './adapters/routes.js';
export { PROCESSOR_NOTIFICATIONS_INTERVAL_MS, PROCESSOR_NOTIFICATIONS_JOB, deliverProcessorNotifications, notificationHandler } from './app/open.js';
export { retrieveDispute } from './app/disputes.js';
export { DISPUTE_DECISION_INTERVAL_MS, DISPUTE_DECISION_JOB, decideDueDisputes } from './app/decisions.js';
export type { FraudLabel } from './app/fraud-labels.js';
export { fraudLabels } from './app/fraud-labels.js';
export { disputeLedgerRecords } from './adapters/ledger-records.js';
export { disputeMigrations } from './migrations/index.js';

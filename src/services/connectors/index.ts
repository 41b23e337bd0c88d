/** The connectors service's public entry: the processor port, the sandbox processor, instrumentation. */
export type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  CardForProcessor,
  Connector,
  DeclineCode,
  DisputeOpened,
  FraudWarningIssued,
  FundsAvailability,
  NotificationHandler,
  ProcessorNotification,
  RefundResult,
  RefundStatus,
  VerifyRequest,
} from './domain/port.js';
export { SandboxProcessor } from './adapters/sandbox.js';
export { SANDBOX_COMPANY_ACCOUNT } from './adapters/sandbox-settlement.js';
export { SANDBOX_FEE_SCHEDULE, sandboxCaptureFees, sandboxRefundFees } from './domain/sandbox-settlement.js';
export { instrumentConnector } from './adapters/instrumented.js';
export { connectorMigrations } from './migrations/index.js';
export type { SettlementReportColumn } from './domain/settlement-report-columns.js';
export { SETTLEMENT_REPORT_COLUMNS } from './domain/settlement-report-columns.js';

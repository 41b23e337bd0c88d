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
  PaymentFacts,
  ProcessorNotification,
  RefundResult,
  RefundStatus,
  RoutingTrace,
  RoutingTry,
  TryPlan,
  VerifyRequest,
} from './domain/port.js';
export { ProcessorOutcomeUnknown, ProcessorUnreachable } from './domain/port.js';
export { SandboxProcessor } from './adapters/sandbox.js';
export { SANDBOX_COMPANY_ACCOUNT } from './adapters/sandbox-settlement.js';
export { SANDBOX_FEE_SCHEDULE, sandboxCaptureFees, sandboxRefundFees } from './domain/sandbox-settlement.js';
export { instrumentConnector } from './adapters/instrumented.js';
export { connectorMigrations } from './migrations/index.js';
export type { ConnectorDirectory, RouteRequest } from './app/router.js';
export { BUILT_IN_ACCOUNT, RoutingConnector, builtInOnly } from './app/router.js';
export type { RouterSettings } from './app/open-router.js';
export { openRouter, withFaults } from './app/open-router.js';
export { accountsDirectory } from './app/accounts-directory.js';
export type { FaultPlan } from './adapters/faults.js';
export { FaultyConnector, NO_FAULTS, faultPlanFromEnv } from './adapters/faults.js';
export { ConnectorHealth } from './app/health.js';
export { RoutedTries } from './adapters/routed-tries.js';
export type { SettlementReportColumn } from './domain/settlement-report-columns.js';
export { SETTLEMENT_REPORT_COLUMNS } from './domain/settlement-report-columns.js';
// Connector accounts, the registry and routing rules (docs/connectors.md).
export type { ConnectorType, ConnectorFactoryContext, BuiltConnector } from './app/registry.js';
export { CONNECTOR_FACTORIES, CONNECTOR_TYPES } from './app/registry.js';
export type { ConnectorAccounts, ConnectorAccountsDeps } from './app/connector-accounts-cache.js';
export { openConnectorAccounts } from './app/connector-accounts-cache.js';
export type { HealthView, Route, RouteCandidate, RoutingConfig } from './domain/routing.js';
export { ALL_HEALTHY, SANDBOX_ACCOUNT_ID, chooseRoute } from './domain/routing.js';
export type { RoutedPayment } from './domain/routing-rules.js';
export type { ConnectorAdminDeps } from './adapters/admin-routes.js';
export { connectorAdminRoutes } from './adapters/admin-routes.js';
export type { ConnectorsAdmin, ConnectorsAdminDeps } from './adapters/admin-api.js';
export { connectorsAdmin } from './adapters/admin-api.js';
export type { ConnectorAccountView } from './app/connector-accounts.js';
export { connectorCredentialsColumn } from './adapters/credentials-column.js';
export type { NotificationRouteDeps } from './adapters/notification-routes.js';
export { connectorNotificationRoutes } from './adapters/notification-routes.js';

/** The connectors service's public entry: the processor port, the sandbox processor, instrumentation. */
export type {
  AttemptStatus, AuthorizeRequest, AuthorizeResult, CaptureResult, CardForProcessor, Connector, DeclineCode, RefundResult, RefundStatus,
} from './port.js';
export { SandboxProcessor } from './sandbox.js';
export { instrumentConnector } from './instrumented.js';
export { connectorMigrations } from './migrations/index.js';

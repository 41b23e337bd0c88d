/** The gateway's public entry: the HTTP API every service's routes are registered on. */
export type { GatewayDeps, HttpServerSettings, ServiceRoutes } from './adapters/app.js';
export { buildGateway } from './adapters/app.js';
export { registerHealthRoutes } from './adapters/health-routes.js';
export type { RecordedRequest, RequestLog } from './adapters/request-recording.js';
export type { ClientSecretCheck } from './adapters/auth.js';
export type { RequestLimitSettings } from './adapters/request-limits.js';
export { gatewayMigrations } from './migrations/index.js';

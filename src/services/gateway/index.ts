/** The gateway's public entry: the HTTP API every service's routes are registered on. */
export type { GatewayDeps, ServiceRoutes } from './app.js';
export { buildGateway } from './app.js';
export { RateLimiter } from './rate-limit.js';
export { gatewayMigrations } from './migrations.js';

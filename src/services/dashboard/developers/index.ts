import type { FastifyInstance } from 'fastify';
import { apiKeyRoutes } from './api-key-routes.js';
import type { DashboardDeveloperDeps } from './deps.js';
import { logRoutes } from './log-routes.js';
import { webhookRoutes } from './webhook-routes.js';

/** The dashboard's Developers area (docs/dashboard.md, "Developers"): its JSON routes, its request log and its table. */
export type { DashboardDeveloperDeps } from './deps.js';
export { BufferedRequestLog, REQUEST_LOG_LIMITS, purgeRequestLog, scheduleRequestLogPurge } from './request-log.js';
export { dashboardDeveloperMigrations } from './migrations.js';

export function dashboardDeveloperRoutes(deps: DashboardDeveloperDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // The request log lives as long as the app feeding it: what is buffered is written before the pools close.
    deps.request_log.start();
    app.addHook('onClose', () => deps.request_log.stop());
    await app.register(apiKeyRoutes(deps));
    await app.register(webhookRoutes(deps));
    await app.register(logRoutes(deps));
  };
}

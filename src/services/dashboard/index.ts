/** The dashboard service's public entry: the web UI's JSON API under /dashboard/api and its sign-in (docs/dashboard.md). */
export { dashboardAuthMigrations } from './migrations/index.js';
export type { DashboardAuthDeps, DashboardPermission, DashboardRole, DashboardUser, OidcSettings } from './auth/index.js';
export {
  DASHBOARD_PERMISSIONS,
  DASHBOARD_ROLES,
  ROLE_PERMISSIONS,
  anyDashboardUser,
  createDashboardUser,
  dashboardAuthRoutes,
  dashboardOidcSettings,
  defaultMerchantId,
  ensureFirstOwner,
  generatedPassword,
  recordDashboardAction,
  requirePermission,
  resetDashboardUser,
} from './auth/index.js';
export type { DashboardDeveloperDeps } from './developers/index.js';
export { BufferedRequestLog, dashboardDeveloperMigrations, dashboardDeveloperRoutes, purgeRequestLog, scheduleRequestLogPurge } from './developers/index.js';
export { dashboardStatic } from './static.js';
export type { DashboardPaymentDeps } from './payments/index.js';
export { dashboardPaymentMigrations, dashboardPaymentRoutes } from './payments/index.js';

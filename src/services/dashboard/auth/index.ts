/** The dashboard's sign-in, users and roles: what the other dashboard route plugins use, and the routes themselves. */
export type { DashboardPermission, DashboardRole, DashboardUser } from './permissions.js';
export { DASHBOARD_PERMISSIONS, DASHBOARD_ROLES, ROLE_PERMISSIONS } from './permissions.js';
export { requirePermission } from './guard.js';
export { recordDashboardAction } from './audit.js';
export type { NewDashboardUser } from './users.js';
export { anyDashboardUser, createDashboardUser } from './users.js';
export type { DashboardAuthDeps } from './deps.js';
export type { OidcSettings } from './oidc.js';
export { dashboardOidcSettings } from './oidc.js';
export { dashboardAuthRoutes } from './plugin.js';
export { defaultMerchantId, ensureFirstOwner, generatedPassword } from './first-owner.js';
export { resetDashboardUser } from './recovery.js';

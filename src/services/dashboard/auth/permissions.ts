/** Who may do what in the dashboard: five roles, each a fixed set of permissions (docs/dashboard.md, "Roles"). */

export const DASHBOARD_ROLES = ['owner', 'admin', 'developer', 'support', 'analyst'] as const;
export type DashboardRole = (typeof DASHBOARD_ROLES)[number];

export const DASHBOARD_PERMISSIONS = [
  'payments.read',
  'payments.write',
  'balances.read',
  'customers.read',
  'developers.read',
  'developers.write',
  'users.manage',
  'audit.read',
] as const;
/** `payments.write`: refund, capture, cancel. `developers.write`: keys (create, roll, reveal), webhook endpoints, resends. */
export type DashboardPermission = (typeof DASHBOARD_PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Readonly<Record<DashboardRole, readonly DashboardPermission[]>> = {
  owner: DASHBOARD_PERMISSIONS,
  admin: DASHBOARD_PERMISSIONS,
  developer: ['payments.read', 'balances.read', 'customers.read', 'developers.read', 'developers.write'],
  support: ['payments.read', 'payments.write', 'customers.read'],
  // Read-only: sees what the others do, changes nothing.
  analyst: ['payments.read', 'balances.read', 'customers.read', 'developers.read', 'audit.read'],
};

export function isDashboardRole(value: unknown): value is DashboardRole {
  return typeof value === 'string' && (DASHBOARD_ROLES as readonly string[]).includes(value);
}

export function roleAllows(role: DashboardRole, permission: DashboardPermission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export interface DashboardUser {
  /** `usr_…` */
  id: string;
  merchant_id: string;
  email: string;
  role: DashboardRole;
}

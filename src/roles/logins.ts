import type { Config } from '../platform/config.js';
import type { DbRole } from '../platform/rls.js';
import type { RoleName } from './names.js';

/**
 * The database logins each role's process needs when it holds no owner login (PAYRAIL_MIGRATE=off;
 * docs/deployment.md, "Database logins"). The vault's reads of sealed cards need the vault login: only
 * the vault process has it, unless a process opens the vault in process (no PAYRAIL_VAULT_URL).
 */
const LOGINS: Readonly<Record<RoleName, readonly DbRole[]>> = {
  all: ['app', 'system', 'vault'],
  api: ['app', 'system'],
  vault: ['vault'],
  // Reads no table: the login only answers /readyz (is the schema current).
  risk: ['system'],
  ledger: ['system'],
  relay: ['system'],
  // Both open the payments services, whose write pipeline runs as the app role, merchant by merchant.
  webhooks: ['app', 'system'],
  scheduler: ['app', 'system'],
};

/** Roles whose process opens the payments services, and with them the vault when no PAYRAIL_VAULT_URL names one. */
const OPENS_VAULT_KEYS: readonly RoleName[] = ['api', 'webhooks', 'scheduler'];

export function databaseLogins(role: RoleName, config: Pick<Config, 'vault_url'>): DbRole[] {
  const logins = [...LOGINS[role]];
  if (OPENS_VAULT_KEYS.includes(role) && !config.vault_url) logins.push('vault');
  return logins;
}

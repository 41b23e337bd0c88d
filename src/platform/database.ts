import type { Config } from './config.js';
import { poolLimits } from './config.js';
import type { Pool } from './db.js';
import { createPool } from './db.js';
import { openEmbeddedDatabase } from './embedded-db.js';
import type { Migration } from './migrations.js';
import { migrate, pendingMigrations } from './migrations.js';
import type { DbRole } from './rls.js';
import { DB_ROLES } from './rls.js';
import { derivedPassword, ensureRolePasswords } from './roles.js';
import { secretsDir } from './secrets-dir.js';

/**
 * The database as Payrail's processes reach it: migrations run over the owner's connection
 * (DATABASE_URL, or the embedded superuser), and every pool connects as one of the roles of rls.ts.
 */
export interface Database {
  /** The system role's pool: work that spans merchants (workers, jobs, the CLI, API-key lookup). */
  pool: Pool;
  /** The system role's connection string (the process lease, the sandbox processor). */
  url: string;
  /** Each role's connection string: `app` for the request path's pools, `vault` for the vault's reads. */
  urls: Record<DbRole, string>;
  /**
   * The owner's connection string: only migrations and the scheduler (pg-boss keeps its own schema) use it.
   * Absent in a process opened with `openRoleDatabase` (PAYRAIL_MIGRATE=off), which never logs in as the owner.
   */
  owner_url: string | undefined;
  embedded: boolean;
  /** Applies what is missing of `migrations` over the owner's connection; returns the ids applied. */
  migrate(migrations: readonly Migration[]): Promise<string[]>;
  close(): Promise<void>;
}

const MIGRATION_POOL_MAX = 2;
const ROLES: readonly DbRole[] = ['app', 'vault', 'system'];

/**
 * The external PostgreSQL at DATABASE_URL, or the embedded one; migrated before use with `migrations`
 * (every service's, from the composition root), unless `migrations` is empty.
 */
export async function openDatabase(config: Config, migrations: readonly Migration[], pool_max = config.db_pool_max): Promise<Database> {
  const embedded = config.database_url
    ? undefined
    : await openEmbeddedDatabase(config.data_dir, config.embedded_pg_port, secretsDir(process.env, config.data_dir));
  const owner_url = config.database_url ?? embedded?.url;
  if (!owner_url) throw new Error('no database: set DATABASE_URL or let Payrail start its embedded PostgreSQL');
  const { urls, logins } = roleLogins(owner_url, config.role_database_urls);
  const migrateOver = async (list: readonly Migration[]): Promise<string[]> => {
    const owner = createPool(owner_url, MIGRATION_POOL_MAX, poolLimits(config));
    try {
      const applied = await migrate(owner, list);
      await ensureRolePasswords(owner, logins);
      return applied;
    } finally {
      await owner.end();
    }
  };
  try {
    if (migrations.length > 0) await migrateOver(migrations);
  } catch (error) {
    // A failed start leaves no PostgreSQL of ours running behind it.
    await embedded?.stop();
    throw error;
  }
  const pool = createPool(urls.system, pool_max, poolLimits(config));
  return {
    pool,
    url: urls.system,
    urls,
    owner_url,
    embedded: embedded !== undefined,
    migrate: migrateOver,
    close: async () => {
      await pool.end();
      await embedded?.stop();
    },
  };
}

/**
 * Each role's connection string: as configured (production: PAYRAIL_APP_DATABASE_URL and the others,
 * each with its own password), or else the owner's server and database as the role, with a password
 * derived from the owner's (the embedded database's lives in the secrets dir, never beside the data)
 * that migrating sets. With no owner password (trust, certificates, a .pgpass file) none is derived.
 */
function roleLogins(owner_url: string, configured: Config['role_database_urls']) {
  const owner_password = decodeURIComponent(new URL(owner_url).password);
  const urls = {} as Record<DbRole, string>;
  const logins: Array<{ role: DbRole; url: string; password: string }> = [];
  for (const role of ROLES) {
    const given = configured[role];
    if (given) {
      urls[role] = given;
      continue;
    }
    const url = new URL(owner_url);
    url.username = DB_ROLES[role];
    url.password = owner_password ? derivedPassword(owner_password, role) : '';
    urls[role] = url.toString();
    if (owner_password) logins.push({ role, url: urls[role], password: derivedPassword(owner_password, role) });
  }
  return { urls, logins };
}

/**
 * The database of a process that never logs in as the owner (PAYRAIL_MIGRATE=off): only the roles in
 * `needed`, each from its configured URL (PAYRAIL_APP_DATABASE_URL and the others). Refuses, in one
 * line, a DATABASE_URL beside it, a missing role URL, and a schema behind the code's `migrations`
 * (`payrail migrate` comes first). `pool` is the system role's, or the first needed role's without it.
 */
export async function openRoleDatabase(
  config: Config,
  needed: readonly DbRole[],
  migrations: readonly Migration[],
  pool_max = config.db_pool_max,
): Promise<Database> {
  if (config.database_url)
    throw new Error('PAYRAIL_MIGRATE=off: unset DATABASE_URL, a role process holds no owner login (docs/deployment.md, "Database logins")');
  const missing = needed.filter((role) => !config.role_database_urls[role]);
  if (missing.length > 0) {
    throw new Error(
      `PAYRAIL_MIGRATE=off: set ${missing.map((role) => `PAYRAIL_${role.toUpperCase()}_DATABASE_URL`).join(' and ')} (docs/deployment.md, "Database logins")`,
    );
  }
  const urls = configuredUrls(config.role_database_urls);
  const main_role: DbRole = needed.includes('system') ? 'system' : (needed[0] ?? 'system');
  const pool = createPool(urls[main_role], pool_max, poolLimits(config));
  const pending = await pendingMigrations(pool, migrations).catch(async (error: unknown) => {
    await pool.end();
    // Before the first `payrail migrate` the roles may not exist yet.
    if ((error as { code?: string }).code !== '28000') throw error;
    throw new Error(`cannot log in as the ${main_role} role (${(error as Error).message}); run \`payrail migrate\` first`, { cause: error });
  });
  if (pending.length > 0) {
    await pool.end();
    throw new Error(`the database schema is behind: ${pending.length} migrations pending (first ${pending[0]}); run \`payrail migrate\` first`);
  }
  return {
    pool,
    url: urls[main_role],
    urls,
    owner_url: undefined,
    embedded: false,
    migrate: () => Promise.reject(new Error('PAYRAIL_MIGRATE=off: this process does not migrate; run `payrail migrate`')),
    close: () => pool.end(),
  };
}

/** Each configured role URL; reading one that is not configured fails, naming its setting. */
function configuredUrls(configured: Config['role_database_urls']): Record<DbRole, string> {
  const urls = {} as Record<DbRole, string>;
  for (const role of ROLES) {
    Object.defineProperty(urls, role, {
      enumerable: true,
      get: () => configured[role] ?? unconfigured(role),
    });
  }
  return urls;
}

function unconfigured(role: DbRole): never {
  throw new Error(`PAYRAIL_MIGRATE=off: this process has no PAYRAIL_${role.toUpperCase()}_DATABASE_URL`);
}

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DbRole } from './rls.js';
import { DB_ROLES } from './rls.js';

/**
 * Creating the roles of rls.ts, granting them what they need, and checking they hold nothing more.
 * Roles are cluster-wide while grants are per database, so several Payrail databases (the tests',
 * or staging beside production) share the roles and each grants them only on its own tables.
 */

const ROLE_NAMES = Object.values(DB_ROLES);
const LOGIN_CHECK_TIMEOUT_MS = 5_000;

/**
 * platform/002_roles. Creating a role another database's migrator is creating at the same moment
 * fails with a unique violation once the other commits: that is success here too.
 */
export const CREATE_ROLES_SQL = `
    DO $$
    DECLARE
      role_name text;
    BEGIN
      FOREACH role_name IN ARRAY ARRAY[${ROLE_NAMES.map((name) => `'${name}'`).join(', ')}] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name);
        BEGIN
          EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END;
      END LOOP;
    END $$;
    -- Before PostgreSQL 15 every role may create objects in public; ours create nothing anywhere.
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;`;

/**
 * Schemas kept to their own role: the app and system roles get no blanket grant there, and their
 * service's migrations grant exactly what the others need (the vault: card metadata, never a sealed card).
 */
const PRIVATE_SCHEMAS: Readonly<Record<string, DbRole>> = { vault: 'vault' };
/** pg-boss's own schema: not granted here; `payrail migrate` grants the system role its rows (scheduler-schema.ts). */
const SCHEDULER_SCHEMA = 'scheduler';

/**
 * Run after every migration run, so tables added since are granted too: the app and system roles may
 * read and write the tables of every schema the migrating role owns, except the private ones and the
 * scheduler's. Nothing is granted WITH GRANT OPTION and nothing is owned by them.
 */
export async function grantRoles(client: pg.PoolClient): Promise<void> {
  const excluded = [...Object.keys(PRIVATE_SCHEMAS), SCHEDULER_SCHEMA, 'public', 'information_schema'];
  const { rows } = await client.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
      AND nspname <> ALL ($1::text[]) AND nspname NOT LIKE 'pg\\_%' ORDER BY nspname`,
    [excluded],
  );
  const statements = rows.flatMap(({ nspname }) => grantSchema(nspname, `${DB_ROLES.app}, ${DB_ROLES.system}`));
  const owned = new Set(
    (await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY ($1::text[])', [Object.keys(PRIVATE_SCHEMAS)])).rows.map(
      (r) => r.nspname,
    ),
  );
  for (const [schema, role] of Object.entries(PRIVATE_SCHEMAS)) if (owned.has(schema)) statements.push(...grantSchema(schema, DB_ROLES[role]));
  // Readiness (`/readyz`) compares the applied migrations with the code's (the vault process's over its own login).
  statements.push(`GRANT SELECT ON public.payrail_migrations TO ${DB_ROLES.system}, ${DB_ROLES.vault}`);
  await client.query(statements.join(';\n'));
}

/** What a role of ours must never have: each one found is named in the error that stops the start. */
const EXCESS_PRIVILEGE_SQL = `
  SELECT r.rolname, concat_ws(', ',
      CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
      CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
      CASE WHEN r.rolreplication THEN 'REPLICATION' END,
      (SELECT string_agg('member of ' || g.rolname, ', ') FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
      (SELECT string_agg('owns ' || c.relnamespace::regnamespace || '.' || c.relname, ', ') FROM pg_class c WHERE c.relowner = r.oid)
    ) AS excess
  FROM pg_roles r WHERE r.rolname = ANY ($1::text[])`;

/**
 * Refuses roles that were made (or altered) with more than least privilege: superuser, role or
 * database creation, BYPASSRLS, membership in any role (pg_execute_server_program, pg_read_server_files,
 * pg_write_server_files and the rest), or owning a table in this database.
 */
export async function assertLeastPrivilege(client: pg.PoolClient | pg.Client, role_names: readonly string[] = ROLE_NAMES): Promise<void> {
  const { rows } = await client.query<{ rolname: string; excess: string }>(EXCESS_PRIVILEGE_SQL, [role_names]);
  const missing = role_names.filter((name) => !rows.some((row) => row.rolname === name));
  if (missing.length > 0) throw new Error(`database roles missing: ${missing.join(', ')} (see docs/operations.md)`);
  const excessive = rows.filter((row) => row.excess !== '');
  if (excessive.length > 0) {
    throw new Error(`database roles hold more than they need: ${excessive.map((row) => `${row.rolname} (${row.excess})`).join('; ')} (see docs/operations.md)`);
  }
}

/** A role's password derived from the owner's, so nothing more is stored and every process agrees. */
export function derivedPassword(owner_password: string, role: DbRole): string {
  return createHmac('sha256', owner_password).update(`payrail database role ${DB_ROLES[role]}`).digest('base64url');
}

/** SQLSTATEs of a refused login: wrong password, or no password where one is required. */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

/**
 * Gives each role its password where logging in with it fails. Another database's migrator may set
 * the same role's password at the same moment (PostgreSQL then refuses the slower one, "tuple
 * concurrently updated"): both set the same password, so losing that race is success too. The
 * password goes out as a SCRAM-SHA-256 verifier computed here, as psql's \\password does, never in clear.
 */
export async function ensureRolePasswords(owner: pg.Pool, logins: ReadonlyArray<{ role: DbRole; url: string; password: string }>): Promise<void> {
  for (const { role, url, password } of logins) {
    if (!(await loginRefused(url))) continue;
    await owner.query(`DO $$ BEGIN
        ALTER ROLE ${DB_ROLES[role]} PASSWORD '${scramVerifier(password)}';
      EXCEPTION WHEN internal_error THEN NULL;
      END $$`);
  }
}

async function loginRefused(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: LOGIN_CHECK_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    return false;
  } catch (error) {
    if (LOGIN_REFUSED.has((error as { code?: string }).code ?? '')) return true;
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

const SCRAM_ITERATIONS = 4096;

/** RFC 5802 / RFC 7677 stored key and server key, in PostgreSQL's `SCRAM-SHA-256$…` form. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, SCRAM_ITERATIONS, 32, 'sha256');
  const client_key = createHmac('sha256', salted).update('Client Key').digest();
  const stored_key = createHash('sha256').update(client_key).digest();
  const server_key = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${stored_key.toString('base64')}:${server_key.toString('base64')}`;
}

function grantSchema(name: string, grantees: string): string[] {
  const schema = quoteIdentifier(name);
  return [
    `GRANT USAGE ON SCHEMA ${schema} TO ${grantees}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${grantees}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${grantees}`,
  ];
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

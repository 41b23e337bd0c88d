import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Pool } from './db.js';
import { QUERY_TIMEOUT_MARGIN_MS, withTransaction } from './db.js';
import { CREATE_ROLES_SQL, assertLeastPrivilege, grantRoles } from './roles.js';

/**
 * Schema migrations: each service lists its own in `migrations/` (`{ id, sql }`, id `service/NNN_name`),
 * `all-migrations.ts` joins the lists, and `migrate` applies what is missing, in list order.
 *
 * Why not a library. node-pg-migrate (the maintained choice) reads one file per migration from
 * directories and imports it, so every service's list would have to be rewritten into files; it keeps
 * no checksum of what it applied (only the order), and a second migrator that finds its lock taken
 * fails ("Another migration is already running") where ours must wait, because the server and
 * `payrail migrate` may start together. umzug takes in-memory lists but brings no lock, no checksum
 * and no PostgreSQL transaction handling, so everything below would still be ours; postgres-migrations
 * keeps hashes but is file-based and unmaintained since 2021. So the runner stays hand-written and
 * small, with the two pieces that were missing:
 *
 * - **Checksums.** Each applied migration's row in `public.payrail_migrations` holds the SHA-256 of its
 *   SQL (line endings and trailing spaces ignored). A migration whose SQL changed after it was applied
 *   is refused before anything runs, naming it: fix it forward with a new migration instead. Rows
 *   written before checksums existed (by the old runner) get theirs filled in from the code on the
 *   first run, without running anything again. Applied ids the code does not know (a newer release's)
 *   are left alone, so an older process can still start during a rolling upgrade.
 * - **Non-transactional steps.** `transaction: false` runs a migration outside a transaction, for the
 *   statements PostgreSQL refuses inside one (`CREATE INDEX CONCURRENTLY`). Such a migration must be
 *   a single statement (PostgreSQL runs a multi-statement string as one implicit transaction) and
 *   should be idempotent (`IF NOT EXISTS`): if the process dies after the statement and before its row
 *   is written, the next run repeats it. A failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index
 *   behind that `IF NOT EXISTS` would then accept; drop it (`DROP INDEX CONCURRENTLY`) before retrying.
 *
 * One migrator at a time: a session advisory lock (the same key as the old runner, so both exclude
 * each other during an upgrade). A waiting migrator polls for the lock rather than blocking on it: a
 * blocked statement holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the holder waits for every
 * older snapshot to end, which would deadlock the two.
 */
export interface Migration {
  id: string;
  sql: string;
  /** false: run outside a transaction (one statement only, ideally idempotent). Default: in one. */
  transaction?: false;
}

const MIGRATION_LOCK_KEY = 7_242_001;
const MIGRATION_LOCK_POLL_MS = 100;
/** How long a migrator waits for another one to finish (an index build on a big table takes a while). */
const MIGRATION_LOCK_WAIT_MAX_MS = 15 * 60_000;
/**
 * Replaces the pool's request-sized statement limit (server side, and the client-side read timeout
 * just above it) for migration steps on the migrating connection: index builds may be long.
 */
const MIGRATION_STATEMENT_TIMEOUT_MS = 60 * 60_000;

const PLATFORM_MIGRATIONS: readonly Migration[] = [
  {
    id: 'platform/001_guard',
    sql: `
    CREATE OR REPLACE FUNCTION public.payrail_guard(ok boolean) RETURNS boolean
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT ok THEN RAISE EXCEPTION 'payrail_guard_failed'; END IF;
      RETURN true;
    END $$;`,
  },
  // The roles the pools connect as (rls.ts), before any service's policy names one of them.
  { id: 'platform/002_roles', sql: CREATE_ROLES_SQL },
  {
    // The rows of a batched UPDATE, until batches carried their rows as arrays (platform/004).
    id: 'platform/003_rows',
    sql: `
    CREATE OR REPLACE FUNCTION public.payrail_rows(rows json) RETURNS SETOF json
    LANGUAGE plpgsql STABLE ROWS 1 AS $$
    BEGIN
      RETURN QUERY SELECT json_array_elements(rows);
    END $$;`,
  },
  {
    // Merged writes carry each column as an array (row-writes.ts), counted exactly by the planner.
    id: 'platform/004_rows_as_arrays',
    sql: `DROP FUNCTION IF EXISTS public.payrail_rows(json);`,
  },
];

/** SHA-256 of the migration's SQL, blind to line endings and trailing whitespace (editor noise). */
export function migrationChecksum(migration_sql: string): string {
  const normalized = migration_sql
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
  return createHash('sha256').update(normalized).digest('hex');
}

/**
 * Applies every migration not yet applied, in order, each in its own transaction unless it says
 * `transaction: false`. Refuses to run if an applied migration changed. Then grants the roles of
 * rls.ts what they need on every table (new ones included) and checks they hold nothing more.
 * Returns the ids applied.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const all = [...PLATFORM_MIGRATIONS, ...migrations];
  assertUniqueIds(all);
  const client = await pool.connect();
  try {
    await client.query(`SET statement_timeout = ${MIGRATION_STATEMENT_TIMEOUT_MS}`);
    await acquireLock(client);
    try {
      const applied = await appliedChecksums(client);
      refuseChanged(all, applied);
      await backfillChecksums(client, all, applied);
      const done: string[] = [];
      for (const migration of all) {
        if (applied.has(migration.id)) continue;
        await apply(client, migration);
        done.push(migration.id);
      }
      await grantRoles(client);
      await assertLeastPrivilege(client);
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    // Closed rather than returned: its statement timeout was changed, and closing frees the lock anyway.
    client.release(true);
  }
}

export async function pendingMigrations(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass('public.payrail_migrations') AS t`);
  if (!exists.rows[0]?.t) return [...PLATFORM_MIGRATIONS, ...migrations].map((m) => m.id);
  const done = new Set((await pool.query<{ id: string }>('SELECT id FROM public.payrail_migrations')).rows.map((r) => r.id));
  return [...PLATFORM_MIGRATIONS, ...migrations].map((m) => m.id).filter((id) => !done.has(id));
}

function assertUniqueIds(migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  for (const { id } of migrations) {
    if (seen.has(id)) throw new Error(`Migration ${id} is listed twice`);
    seen.add(id);
  }
}

async function acquireLock(client: pg.PoolClient): Promise<void> {
  const deadline_ms = Date.now() + MIGRATION_LOCK_WAIT_MAX_MS;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
    if (rows[0]?.locked === true) return;
    if (Date.now() > deadline_ms) throw new Error(`another migrator held the migration lock for over ${MIGRATION_LOCK_WAIT_MAX_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
  }
}

/** Applied ids and their checksums (null where the old runner applied them); creates the table. */
async function appliedChecksums(client: pg.PoolClient): Promise<Map<string, string | null>> {
  await client.query(`CREATE TABLE IF NOT EXISTS public.payrail_migrations (
    id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  await client.query('ALTER TABLE public.payrail_migrations ADD COLUMN IF NOT EXISTS checksum text');
  const { rows } = await client.query<{ id: string; checksum: string | null }>('SELECT id, checksum FROM public.payrail_migrations');
  return new Map(rows.map((row) => [row.id, row.checksum]));
}

function refuseChanged(migrations: readonly Migration[], applied: ReadonlyMap<string, string | null>): void {
  for (const migration of migrations) {
    const stored = applied.get(migration.id);
    if (stored == null) continue;
    const current = migrationChecksum(migration.sql);
    if (stored !== current) {
      throw new Error(
        `Migration ${migration.id} was changed after it was applied (applied checksum ${stored.slice(0, 12)}, now ${current.slice(0, 12)}): ` +
          'restore its SQL and make the change in a new migration',
      );
    }
  }
}

async function backfillChecksums(client: pg.PoolClient, migrations: readonly Migration[], applied: ReadonlyMap<string, string | null>): Promise<void> {
  const missing = migrations.filter((m) => applied.has(m.id) && applied.get(m.id) === null);
  if (missing.length === 0) return;
  await client.query(
    `UPDATE public.payrail_migrations m SET checksum = k.checksum
    FROM unnest($1::text[], $2::text[]) AS k(id, checksum) WHERE m.id = k.id AND m.checksum IS NULL`,
    [missing.map((m) => m.id), missing.map((m) => migrationChecksum(m.sql))],
  );
}

/** One migration's SQL, allowed MIGRATION_STATEMENT_TIMEOUT_MS on the client side too. */
async function runStep(client: pg.PoolClient, text: string): Promise<void> {
  const step: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: MIGRATION_STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS };
  await client.query(step);
}

async function apply(client: pg.PoolClient, migration: Migration): Promise<void> {
  const record = () => client.query('INSERT INTO public.payrail_migrations (id, checksum) VALUES ($1, $2)', [migration.id, migrationChecksum(migration.sql)]);
  try {
    if (migration.transaction === false) {
      await runStep(client, migration.sql);
      await record();
      return;
    }
    await client.query('BEGIN');
    try {
      await runStep(client, migration.sql);
      await record();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } catch (error) {
    throw new Error(`Migration ${migration.id} failed: ${(error as Error).message}`, { cause: error });
  }
}

export { withTransaction };

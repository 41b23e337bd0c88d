import type { Pool } from './db.js';
import { withTransaction } from './db.js';

/** A forward-only migration owned by one service; `id` is `service/NNN_name`. */
export interface Migration {
  id: string;
  sql: string;
}

const MIGRATION_LOCK_KEY = 7_242_001;

const PLATFORM_MIGRATION: Migration = {
  id: 'platform/001_guard',
  sql: `
    CREATE OR REPLACE FUNCTION public.payrail_guard(ok boolean) RETURNS boolean
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT ok THEN RAISE EXCEPTION 'payrail_guard_failed'; END IF;
      RETURN true;
    END $$;`,
};

/**
 * Applies every migration not yet applied, in order, each in its own transaction. An advisory lock
 * lets the server and the CLI start at the same time without applying anything twice.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const all = [PLATFORM_MIGRATION, ...migrations];
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS public.payrail_migrations (
      id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM public.payrail_migrations')).rows.map((r) => r.id));
    const applied: string[] = [];
    for (const migration of all) {
      if (done.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO public.payrail_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${migration.id} failed: ${(error as Error).message}`);
      }
      applied.push(migration.id);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}

export async function pendingMigrations(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const exists = await pool.query(`SELECT to_regclass('public.payrail_migrations') AS t`);
  if (!exists.rows[0]?.t) return [PLATFORM_MIGRATION, ...migrations].map((m) => m.id);
  const done = new Set((await pool.query<{ id: string }>('SELECT id FROM public.payrail_migrations')).rows.map((r) => r.id));
  return [PLATFORM_MIGRATION, ...migrations].map((m) => m.id).filter((id) => !done.has(id));
}

export { withTransaction };

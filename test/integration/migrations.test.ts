import { afterEach, describe, expect, it } from 'vitest';
import type { Pool, PoolLimits } from '../../src/platform/db.js';
import { DEFAULT_POOL_LIMITS, createPool } from '../../src/platform/db.js';
import type { Migration } from '../../src/platform/migrations.js';
import { migrate, migrationChecksum, pendingMigrations } from '../../src/platform/migrations.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import { CREATE_ROLES_SQL } from '../../src/platform/roles.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

/** The runner's own migrations, applied first on every database. */
const PLATFORM_IDS = ['platform/001_guard', 'platform/002_roles', 'platform/003_rows', 'platform/004_rows_as_arrays'] as const;

const opened: Array<{ database: TestDatabase; pools: Pool[] }> = [];

async function freshDatabase(pool_count = 1, limits: PoolLimits = DEFAULT_POOL_LIMITS): Promise<Pool[]> {
  const database = await createTestDatabase();
  const pools = Array.from({ length: pool_count }, () => createPool(database.url, 4, limits));
  opened.push({ database, pools });
  return pools;
}

afterEach(async () => {
  for (const { database, pools } of opened.splice(0)) {
    await Promise.all(pools.map((pool) => pool.end()));
    await database.drop();
  }
});

/** Each run of this migration adds a row, so a migration applied twice shows as two rows. */
const COUNTED: Migration = { id: 'test/001_counted', sql: 'CREATE TABLE IF NOT EXISTS public.runs (n int); INSERT INTO public.runs VALUES (1);' };
const SECOND: Migration = { id: 'test/002_second', sql: 'INSERT INTO public.runs VALUES (2);' };
const CONCURRENT_INDEX: Migration = { id: 'test/003_index', sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_n ON public.runs (n)', transaction: false };

async function runCount(pool: Pool): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.runs')).rows[0]!.n;
}

/** What the runner before checksums did: the table without a checksum column, each migration in a transaction. */
async function migrateLikeTheOldRunner(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  await pool.query('CREATE TABLE public.payrail_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const migration of migrations) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(migration.sql);
      await client.query('INSERT INTO public.payrail_migrations (id) VALUES ($1)', [migration.id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
}

const LOCK_WAIT_LIMIT_MS = 5_000;

/** Waits until some session holds the migration lock (key 7242001). */
async function waitForMigrationLock(pool: Pool): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_LIMIT_MS;
  for (;;) {
    const held = await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 7242001 AND granted`);
    if (held.rowCount === 1) return;
    if (Date.now() > deadline) throw new Error('the first migrator never took the lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('migrations', () => {
  it('refuses an applied migration whose SQL changed, naming it, and applies nothing after it', async () => {
    const [pool] = await freshDatabase();
    await migrate(pool!, [COUNTED]);
    const edited = { ...COUNTED, sql: `${COUNTED.sql} INSERT INTO public.runs VALUES (9);` };
    await expect(migrate(pool!, [edited, SECOND])).rejects.toThrow(/Migration test\/001_counted was changed after it was applied/);
    expect(await pendingMigrations(pool!, [COUNTED, SECOND])).toEqual(['test/002_second']);
    expect(await runCount(pool!)).toBe(1);
    // Trailing whitespace and line endings an editor adds or strips are not a change.
    expect(await migrate(pool!, [{ ...COUNTED, sql: `\r\n${COUNTED.sql}   \r\n` }, SECOND])).toEqual(['test/002_second']);
  });

  it('runs a transaction: false migration outside a transaction, so CREATE INDEX CONCURRENTLY applies', async () => {
    const [pool] = await freshDatabase();
    const in_transaction = { ...CONCURRENT_INDEX, transaction: undefined };
    await expect(migrate(pool!, [COUNTED, in_transaction])).rejects.toThrow(
      /test\/003_index failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block/,
    );
    expect(await migrate(pool!, [COUNTED, CONCURRENT_INDEX])).toEqual(['test/003_index']);
    const index = await pool!.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.runs_n'::regclass`);
    expect(index.rows).toEqual([{ valid: true }]);
    const stored = await pool!.query('SELECT checksum FROM public.payrail_migrations WHERE id = $1', [CONCURRENT_INDEX.id]);
    expect(stored.rows).toEqual([{ checksum: migrationChecksum(CONCURRENT_INDEX.sql) }]);
  });

  it("gives a long step more time than the pool's request-sized timeouts, on its own connection only", async () => {
    const [pool] = await freshDatabase(1, { ...DEFAULT_POOL_LIMITS, statement_timeout_ms: 300 });
    const LONG: Migration = { id: 'test/006_long', sql: 'SELECT pg_sleep(1.5)' };
    expect(await migrate(pool!, [LONG])).toEqual([...PLATFORM_IDS, 'test/006_long']);
    // Requests keep their limit: the migrating connection was closed, not handed back.
    await expect(pool!.query('SELECT pg_sleep(1.5)')).rejects.toThrow(/statement timeout/);
  });

  it('upgrades a database the old runner migrated: nothing re-runs, checksums are filled in, new ones apply', async () => {
    const [pool] = await freshDatabase();
    await migrateLikeTheOldRunner(pool!, [COUNTED, SECOND]);
    const THIRD: Migration = { id: 'test/004_third', sql: 'INSERT INTO public.runs VALUES (3);' };
    expect(await migrate(pool!, [COUNTED, SECOND, THIRD])).toEqual([...PLATFORM_IDS, 'test/004_third']);
    expect(await runCount(pool!)).toBe(3);
    const rows = await pool!.query<{ id: string; checksum: string }>('SELECT id, checksum FROM public.payrail_migrations WHERE id LIKE $1 ORDER BY id', [
      'test/%',
    ]);
    expect(rows.rows).toEqual([COUNTED, SECOND, THIRD].map((m) => ({ id: m.id, checksum: migrationChecksum(m.sql) })));
    // Once filled in, the checksums guard the old migrations too.
    await expect(migrate(pool!, [{ ...SECOND, sql: 'SELECT 1' }])).rejects.toThrow(/test\/002_second was changed/);
  });

  it("upgrades the real schema the old runner built, applying only the runner's own migration", async () => {
    const [pool] = await freshDatabase();
    // Roles are cluster-wide: the old runner's cluster has them once any database on it was migrated.
    await pool!.query(CREATE_ROLES_SQL);
    await migrateLikeTheOldRunner(pool!, ALL_MIGRATIONS);
    expect(await migrate(pool!, ALL_MIGRATIONS)).toEqual([...PLATFORM_IDS]);
    expect(await pendingMigrations(pool!, ALL_MIGRATIONS)).toEqual([]);
    const unchecked = await pool!.query('SELECT id FROM public.payrail_migrations WHERE checksum IS NULL');
    expect(unchecked.rows).toEqual([]);
  });

  it('lets two migrators start together (one in each process) and applies each migration once', async () => {
    const [first, second] = await freshDatabase(2);
    // The second migrator arrives while the first holds the lock and has the index build ahead of it.
    const PAUSE: Migration = { id: 'test/005_pause', sql: 'SELECT pg_sleep(0.3)' };
    const migrations = [COUNTED, PAUSE, CONCURRENT_INDEX, SECOND];
    const first_run = migrate(first!, migrations);
    await waitForMigrationLock(second!);
    const results = await Promise.all([first_run, migrate(second!, migrations)]);
    expect(results).toEqual([[...PLATFORM_IDS, ...migrations.map((m) => m.id)], []]);
    expect(await runCount(first!)).toBe(2);
  });
});

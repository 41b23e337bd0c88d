import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { createPool } from '../../src/platform/db.js';
import { migrate } from '../../src/platform/migrations.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';

// `drop` is a function-typed property, not a method: tests destructure it (`({ pool, drop } = …)`).
export interface TestDatabase {
  url: string;
  readonly drop: () => Promise<void>;
}

export interface MigratedDatabase {
  pool: Pool;
  url: string;
  readonly drop: () => Promise<void>;
}

/** A new, empty database on the test server, so test files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin_url = inject('admin_database_url');
  const name = `payrail_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(admin_url, `CREATE DATABASE ${name}`);
  const url = new URL(admin_url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(admin_url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A migrated database and a pool on it, for integration tests below the HTTP layer. */
export async function createMigratedPool(max = 10): Promise<MigratedDatabase> {
  const database = await createTestDatabase();
  const pool = createPool(database.url, max);
  await migrate(pool, ALL_MIGRATIONS);
  return {
    pool,
    url: database.url,
    drop: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

async function adminQuery(admin_url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin_url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

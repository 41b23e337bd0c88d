import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbRole } from '../../src/platform/rls.js';
import { DB_ROLES } from '../../src/platform/rls.js';
import { derivedPassword } from '../../src/platform/roles.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { exitCodeWithin, freePort, spawnServer } from '../support/processes.js';

/**
 * Issue 16's separation with real logins: `payrail migrate` runs once as the database owner, then
 * role processes started with PAYRAIL_MIGRATE=off hold only their role's logins — the API the app and
 * system roles, the vault the vault role, the scheduler the app and system roles. Payments work end to
 * end through the remote vault; the API's logins cannot read a sealed card; no role process is
 * connected as the owner; a role process started before `payrail migrate` refuses, saying so.
 */

const SECRET_KEY = 'sk_test_leastPrivilege00000000000001';
const VAULT_KEY = randomBytes(32).toString('hex');
const MASTERCARD = '5555555555554444';
const PERMISSION_DENIED = '42501';
const EXIT_LIMIT_MS = 30_000;
const WAIT_LIMIT_MS = 30_000;
const run = promisify(execFile);

let database: TestDatabase;
let dir: string;
let owner: pg.Client;
const processes: ChildProcess[] = [];
const file = (name: string) => join(dir, name);

/** A role's login on the test database, as an operator would hand it to that role's process. */
function roleUrl(role: DbRole): string {
  const url = new URL(database.url);
  const owner_password = decodeURIComponent(url.password);
  url.username = DB_ROLES[role];
  url.password = owner_password ? derivedPassword(owner_password, role) : '';
  return url.toString();
}

/** A role process's environment: no owner URL and no vault key from this test's own environment. */
function roleEnv(role: string, port: number, settings: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _owner, PAYRAIL_VAULT_KEY: _key, ...inherited } = process.env;
  return {
    ...inherited,
    PAYRAIL_SERVICE: role,
    PAYRAIL_MIGRATE: 'off',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PAYRAIL_DATA_DIR: file(`${role}-data`),
    PAYRAIL_SECRETS_DIR: file(`${role}-secrets`),
    PAYRAIL_BOOTSTRAP_SECRET_KEY: SECRET_KEY,
    PAYRAIL_METRICS: 'off',
    PAYRAIL_DB_POOL_MAX: '3',
    PAYRAIL_DB_CONNECT_TIMEOUT_MS: '10000',
    ...settings,
  };
}

/** A role that calls the vault at `vault_port`: the app and system logins, its own client certificate, no vault login. */
function callerOf(role: string, vault_port: number): NodeJS.ProcessEnv {
  return {
    PAYRAIL_APP_DATABASE_URL: roleUrl('app'),
    PAYRAIL_SYSTEM_DATABASE_URL: roleUrl('system'),
    PAYRAIL_VAULT_URL: `https://127.0.0.1:${vault_port}`,
    PAYRAIL_VAULT_TLS_CA: file('certs/ca.crt'),
    PAYRAIL_VAULT_TLS_CERT: file(`certs/${role}.crt`),
    PAYRAIL_VAULT_TLS_KEY: file(`certs/${role}.key`),
  };
}

async function startRole(role: string, port: number, settings: NodeJS.ProcessEnv) {
  const server = await spawnServer(roleEnv(role, port, settings));
  processes.push(server.child);
  if (!server.output().includes('Payrail is running')) throw new Error(`role ${role} did not start:\n${server.output()}`);
  return server;
}

/** Retries `check` until it passes or WAIT_LIMIT_MS has gone by (work another process does). */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function payrailMigrate(): Promise<string> {
  const { stdout } = await run(process.execPath, ['dist/cli.js', 'migrate'], { env: { ...process.env, DATABASE_URL: database.url }, timeout: 120_000 });
  return stdout;
}

async function post(port: number, path: string, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
  });
  const json = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(json)).toBe(200);
  return json;
}

/** The SQLSTATE of reading sealed card data over `url`, or 'read' if the read went through. */
async function readSealedCards(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT ciphertext FROM vault.payment_methods LIMIT 1');
    return 'read';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-least-privilege-'));
  execFileSync('bash', ['deploy/local/ca.sh', file('certs'), 'api', 'scheduler'], { stdio: 'pipe' });
  database = await createTestDatabase();
  owner = new pg.Client({ connectionString: database.url });
  await owner.connect();
}, 60_000);

afterAll(async () => {
  await Promise.all(
    processes
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
  );
  await owner?.end();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('role processes without the owner login', () => {
  it('refuse to start before `payrail migrate`, naming it', async () => {
    const port = await freePort();
    const early = await spawnServer(roleEnv('api', port, callerOf('api', await freePort())));
    expect(await exitCodeWithin(early.child, EXIT_LIMIT_MS)).not.toBe(0);
    expect(early.output()).toMatch(/run `payrail migrate` first/);
    const { rows } = await owner.query<{ t: string | null }>(`SELECT to_regclass('public.payrail_migrations') AS t`);
    expect(rows[0]?.t).toBeNull();
  }, 60_000);

  it('refuse an owner URL beside PAYRAIL_MIGRATE=off', async () => {
    const port = await freePort();
    const env = roleEnv('ledger', port, { DATABASE_URL: database.url, PAYRAIL_SYSTEM_DATABASE_URL: roleUrl('system') });
    const refused = await spawnServer(env);
    expect(await exitCodeWithin(refused.child, EXIT_LIMIT_MS)).not.toBe(0);
    expect(refused.output()).toMatch(/PAYRAIL_MIGRATE=off: unset DATABASE_URL/);
  }, 60_000);

  it('`payrail migrate` applies every migration and prepares the scheduler, once', async () => {
    expect(await payrailMigrate()).toMatch(/^Applied: platform\//);
    expect(await payrailMigrate()).toBe('Database is up to date.\n');
    const { rows } = await owner.query<{ may_create_queue: boolean }>(
      `SELECT has_function_privilege($1, 'scheduler.create_queue(text, json)', 'EXECUTE') AS may_create_queue`,
      [DB_ROLES.system],
    );
    expect(rows[0]?.may_create_queue).toBe(true);
  }, 240_000);

  it('pay through the remote vault, while the API holds no owner login, no vault key and no sealed card', async () => {
    const vault_port = await freePort();
    const vault_health_port = await freePort();
    await startRole('vault', vault_port, {
      PAYRAIL_VAULT_DATABASE_URL: roleUrl('vault'),
      PAYRAIL_HEALTH_PORT: String(vault_health_port),
      PAYRAIL_VAULT_KEY: VAULT_KEY,
      PAYRAIL_VAULT_TLS_CA: file('certs/ca.crt'),
      PAYRAIL_VAULT_TLS_CERT: file('certs/vault.crt'),
      PAYRAIL_VAULT_TLS_KEY: file('certs/vault.key'),
      PAYRAIL_VAULT_CALLERS: 'api,scheduler',
    });
    const api_port = await freePort();
    const api = await startRole('api', api_port, callerOf('api', vault_port));
    // The scheduler runs pg-boss as the system role: the queues it creates go through the owner's create_queue.
    await startRole('scheduler', await freePort(), callerOf('scheduler', vault_port));
    await startRole('ledger', await freePort(), { PAYRAIL_SYSTEM_DATABASE_URL: roleUrl('system') });
    // The vault's readiness reads the applied migrations over its own login.
    expect((await fetch(`http://127.0.0.1:${vault_health_port}/readyz`)).status).toBe(200);

    const method = await post(api_port, '/v1/payment_methods', `type=card&card[number]=${MASTERCARD}&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123`);
    const intent = await post(api_port, '/v1/payment_intents', `amount=3100&currency=usd&payment_method=${String(method.id)}&confirm=true`);
    expect(intent.status, api.output()).toBe('succeeded');
    const sealed = await owner.query<{ ciphertext: Buffer }>('SELECT ciphertext FROM vault.payment_methods WHERE id = $1', [method.id]);
    expect(sealed.rows).toHaveLength(1);
    expect(sealed.rows[0]?.ciphertext.toString('latin1')).not.toContain(MASTERCARD);
    // The ledger role posts the capture over the system login; the scheduler's jobs run over it too.
    await eventually(async () => {
      const posted = await owner.query('SELECT 1 FROM ledger.transfers WHERE kind = $1 AND source_id = $2', ['capture', intent.latest_charge]);
      expect(posted.rows).toHaveLength(1);
      const done = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler.job WHERE state = 'completed'`);
      expect(done.rows[0]?.n).toBeGreaterThan(0);
    });

    // Neither of the API's logins reads a sealed card; the vault's does.
    expect(await readSealedCards(roleUrl('app'))).toBe(PERMISSION_DENIED);
    expect(await readSealedCards(roleUrl('system'))).toBe(PERMISSION_DENIED);
    expect(await readSealedCards(roleUrl('vault'))).toBe('read');

    // The API process's environment, as the kernel holds it: no owner URL, no vault key.
    const environ = readFileSync(`/proc/${api.child.pid}/environ`, 'latin1').split('\0');
    expect(environ.filter((entry) => entry.startsWith('DATABASE_URL=') || entry.startsWith('PAYRAIL_VAULT_KEY='))).toEqual([]);
    expect(environ.some((entry) => entry.includes(database.url) || entry.includes(VAULT_KEY))).toBe(false);

    // Every connection of the role processes is one of their roles', never the owner's.
    const queues = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler.queue');
    expect(queues.rows[0]?.n).toBeGreaterThan(0);
    const logins = await owner.query<{ usename: string; application_name: string }>(
      `SELECT DISTINCT usename, application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'payrail-%'`,
    );
    const names = logins.rows.map((row) => row.application_name);
    expect(names).toEqual(expect.arrayContaining(['payrail-api', 'payrail-scheduler', 'payrail-ledger']));
    expect(logins.rows.filter((row) => !Object.values<string>(DB_ROLES).includes(row.usename))).toEqual([]);
  }, 240_000);
});

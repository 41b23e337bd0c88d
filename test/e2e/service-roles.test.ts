import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer } from '../support/processes.js';

/**
 * Payrail split into one process per role (`PAYRAIL_SERVICE`, as `payrail start --service NAME` sets
 * it), from the built dist/main.js, against one PostgreSQL and NATS: the vault, two API replicas, the
 * ledger poster, the webhook sender, two outbox relays and the scheduler. Only the vault has the vault
 * key; the others reach it over mutual TLS. Payments through either API reach the ledger and the
 * webhook receiver exactly once, and the relay leader's death loses nothing.
 */
const SECRET_KEY = 'sk_test_serviceRoles000000000000001';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const PAYMENTS_PER_API = 5;
const WAIT_LIMIT_MS = 20_000;
const VAULT_KEY = randomBytes(32).toString('hex');
/** The roles that call the vault, each with its own client certificate. */
const VAULT_CALLERS = ['api', 'webhooks', 'scheduler'];

let database: TestDatabase;
let data_dir: string;
let vault_url: string;
const file = (name: string) => join(data_dir, name);
let db: pg.Client;
let receiver: Server;
let receiver_url: string;
/** Each webhook delivery's event, as the receiver got it (repeats included: they would be duplicates). */
const delivered: Array<{ id: string; type: string; object_id: string }> = [];
const processes: ChildProcess[] = [];

interface RoleProcess {
  child: ChildProcess;
  /** What the process wrote so far (shown when one of its answers is not the one expected). */
  output(): string;
  port: number;
  metrics_port: number;
}

const taken_ports = new Set<number>();

/** A free port no other process of this test was given (roles start side by side). */
async function unusedPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken_ports.has(port)) {
      taken_ports.add(port);
      return port;
    }
  }
}

/** The vault: the key, its server certificate and secrets of its own. Every other role: none of those, the vault's URL. */
function vaultSettings(role: string): NodeJS.ProcessEnv {
  if (role === 'vault') {
    return {
      PAYRAIL_VAULT_KEY: VAULT_KEY,
      PAYRAIL_SECRETS_DIR: file('vault-secrets'),
      PAYRAIL_VAULT_TLS_CERT: file('certs/vault.crt'),
      PAYRAIL_VAULT_TLS_KEY: file('certs/vault.key'),
    };
  }
  const caller = VAULT_CALLERS.includes(role) ? role : 'api';
  return {
    PAYRAIL_VAULT_URL: vault_url,
    PAYRAIL_SECRETS_DIR: file('secrets'),
    PAYRAIL_VAULT_TLS_CERT: file(`certs/${caller}.crt`),
    PAYRAIL_VAULT_TLS_KEY: file(`certs/${caller}.key`),
  };
}

async function startRole(role: string, port?: number, extra: NodeJS.ProcessEnv = {}): Promise<RoleProcess> {
  port ??= await unusedPort();
  const metrics_port = await unusedPort();
  const env = serverEnv(
    { port, database_url: database.url, data_dir, secret_key: SECRET_KEY },
    {
      PAYRAIL_SERVICE: role,
      NATS_URL,
      // Seven processes share one PostgreSQL (and this 2-core machine) with other tests: small pools,
      // and patience for a connection when the machine is busy.
      PAYRAIL_DB_POOL_MAX: '3',
      PAYRAIL_DB_CONNECT_TIMEOUT_MS: '10000',
      PAYRAIL_METRICS_PORT: String(metrics_port),
      PAYRAIL_WEBHOOKS_ALLOW_PRIVATE: '1',
      PAYRAIL_VAULT_TLS_CA: file('certs/ca.crt'),
      ...vaultSettings(role),
      ...extra,
    },
  );
  const server = await spawnServer(env);
  processes.push(server.child);
  if (!server.output().includes('Payrail is running')) throw new Error(`role ${role} did not start:\n${server.output()}`);
  return { child: server.child, output: () => server.output(), port, metrics_port };
}

/** The vault serves mutual TLS on its PORT; its probes answer on PAYRAIL_HEALTH_PORT. */
async function startVaultRole(port: number): Promise<RoleProcess & { health_port: number }> {
  const health_port = await unusedPort();
  return { ...(await startRole('vault', port, { PAYRAIL_HEALTH_PORT: String(health_port) })), health_port };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function api(replica: RoleProcess, path: string, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${replica.port}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
  });
  const json = (await response.json()) as Record<string, unknown>;
  expect(response.status, `${JSON.stringify(json)}\n${replica.output()}`).toBe(200);
  return json;
}

/** PAYMENTS_PER_API payments through each API replica, one at a time per replica (the machine is small); their charges. */
async function pay(apis: readonly RoleProcess[]): Promise<string[]> {
  const per_replica = await Promise.all(
    apis.map(async (replica) => {
      const charges: string[] = [];
      for (let i = 0; i < PAYMENTS_PER_API; i++) {
        const intent = await api(replica, '/v1/payment_intents', `amount=${1000 + i}&currency=usd&payment_method=pm_card_visa&confirm=true`);
        charges.push(String(intent.latest_charge));
      }
      return charges;
    }),
  );
  return per_replica.flat();
}

async function metricsOf(role: RoleProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${role.metrics_port}/metrics`)).text();
}

/** Polls until `check` holds (it throws until then), within the wait limit. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Each charge has reached the ledger (its capture posted once) and the webhook receiver; no event arrived twice. */
async function expectPostedAndDeliveredOnce(charges: readonly string[]): Promise<void> {
  await eventually(async () => {
    const posted = await db.query<{ source_id: string; n: string }>(
      `SELECT source_id, count(*) AS n FROM ledger.transfers WHERE kind = 'capture' AND source_id = ANY($1) GROUP BY source_id`,
      [charges],
    );
    expect(posted.rows.map((row) => [row.source_id, Number(row.n)]).sort()).toEqual(charges.map((id) => [id, 1]).sort());
    const succeeded = new Set(delivered.filter((event) => event.type === 'charge.succeeded').map((event) => event.object_id));
    expect(charges.filter((id) => !succeeded.has(id))).toEqual([]);
  });
  const ids = delivered.map((event) => event.id);
  expect(new Set(ids).size).toBe(ids.length);
}

beforeAll(async () => {
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-roles-'));
  execFileSync('bash', ['deploy/local/ca.sh', file('certs'), ...VAULT_CALLERS], { stdio: 'pipe' });
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += String(chunk)));
    request.on('end', () => {
      const event = JSON.parse(body) as { id: string; type: string; data: { object: { id: string } } };
      delivered.push({ id: event.id, type: event.type, object_id: event.data.object.id });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver_url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.filter((child) => child.exitCode === null && child.signalCode === null).map(kill));
  await db?.end();
  receiver?.close();
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('one process per role', () => {
  it('carries payments from two API replicas to the ledger and webhooks once, through a relay failover', async () => {
    // The vault migrates; the first API creates the default merchant; the other roles follow.
    const vault_port = await unusedPort();
    vault_url = `https://127.0.0.1:${vault_port}`;
    const vault = await startVaultRole(vault_port);
    const first_api = await startRole('api');
    const [second_api, ledger, webhooks, relay_leader, scheduler] = await Promise.all([
      startRole('api'),
      startRole('ledger'),
      startRole('webhooks'),
      startRole('relay'),
      startRole('scheduler'),
    ]);
    await api(first_api, '/v1/webhook_endpoints', `url=${encodeURIComponent(receiver_url)}&enabled_events[]=*`);

    // An API process runs no consumer: no lag gauges, and no connection of its own outside the API's.
    expect(await metricsOf(first_api)).not.toMatch(/payrail_consumer_lag_events\{/);
    expect(await metricsOf(ledger)).toMatch(/payrail_consumer_lag_events\{consumer="ledger"\}/);
    const names = await db.query<{ application_name: string }>(`SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()`);
    expect(names.rows.map((row) => row.application_name)).toEqual(
      expect.arrayContaining(['payrail-api', 'payrail-ledger', 'payrail-webhooks', 'payrail-relay', 'payrail-scheduler']),
    );
    expect((await fetch(`http://127.0.0.1:${vault.health_port}/readyz`)).status).toBe(200);
    for (const role of [ledger, webhooks, scheduler]) {
      expect((await fetch(`http://127.0.0.1:${role.port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${role.port}/v1/balance`)).status).toBe(404);
    }

    await expectPostedAndDeliveredOnce(await pay([first_api, second_api]));

    // A second relay stands by; the leader dies; the stand-by takes the lock and events keep flowing.
    await startRole('relay');
    await kill(relay_leader.child);
    await expectPostedAndDeliveredOnce(await pay([first_api, second_api]));

    // Cards were sealed and webhook secrets opened by the vault alone: no other role ever had its key.
    expect(existsSync(file('secrets/vault.key'))).toBe(false);

    // A worker role stops on SIGTERM like the API: cleanly, within its shutdown timeout.
    ledger.child.kill('SIGTERM');
    expect(await exitCodeWithin(ledger.child, 20_000)).toBe(0);
  }, 90_000);

  it('refuses an unknown role, and a risk process without the mutual TLS it serves', async () => {
    const failure = (service: string) =>
      promisify(execFile)(process.execPath, ['dist/cli.js', 'start', '--service', service], { env: { ...process.env, DATABASE_URL: database.url } }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const unknown = await failure('payments');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--service must be one of all, api, vault, risk, ledger, webhooks, relay, scheduler');
    const risk = await failure('risk');
    expect(risk.code).toBe(1);
    expect(risk.stderr).toContain('the risk role serves mutual TLS: set PAYRAIL_VAULT_TLS_CA');
  }, 60_000);
});

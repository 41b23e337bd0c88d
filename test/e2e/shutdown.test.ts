import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DrainingServer, closeWithin } from '../../src/platform/http/draining-server.js';
import { secretsDir } from '../../src/platform/secrets-dir.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer, startServerProcess } from '../support/processes.js';

/**
 * The built server (dist/main.js; run `npm run build` first) stopped by SIGTERM with clients connected
 * and a request in flight, and restarted on its embedded database after hard kills.
 */
const SECRET_KEY = 'sk_test_shutdownShutdown00000001';
/** With only idle clients connected a stop must not wait for them (it used to take 15 s and exit 1). */
const IDLE_EXIT_BOUND_MS = 5_000;
/** The server's own stop bound (10 s drain + 10 s after), plus slack for a loaded machine. */
const STOP_BOUND_MS = 25_000;
const PROCESSOR_LATENCY_MS = 1_500;
/** When SIGTERM is sent after the slow confirm was sent: well inside its processor call. */
const SIGNAL_AFTER_MS = 500;
const EMBEDDED_START_TIMEOUT_MS = 60_000;

interface Answer {
  status: number; // 0: no HTTP answer (connection refused or reset)
  body?: { id?: string; status?: string; amount_received?: number; error?: { type?: string; code?: string } };
}

function call(port: number, method: string, path: string, body?: string): Promise<Answer> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as Answer['body'] }),
    () => ({ status: 0 }),
  );
}

function pay(port: number, amount: number): Promise<Answer> {
  return call(port, 'POST', '/v1/payment_intents', `amount=${amount}&currency=usd&payment_method=pm_card_visa&confirm=true`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('SIGTERM on the server', () => {
  let database: TestDatabase;
  let data_dir: string;
  let port: number;
  let server: ChildProcess | undefined;

  function startServer(extra: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
    return startServerProcess(serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY }, extra), port);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    data_dir = mkdtempSync(join(tmpdir(), 'payrail-shutdown-'));
    port = await freePort();
  });

  afterEach(() => {
    if (server?.exitCode === null) server.kill('SIGKILL');
  });

  afterAll(async () => {
    await database?.drop();
    rmSync(data_dir, { recursive: true, force: true });
  });

  it('exits 0 at once while idle clients hold connections open', { timeout: 60_000 }, async () => {
    server = await startServer();
    const agent = new http.Agent({ keepAlive: true });
    const status = await new Promise<number | undefined>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (response) => response.resume().on('end', () => resolve(response.statusCode)));
    });
    expect(status).toBe(200); // the agent now keeps an idle keep-alive socket
    const silent = await openSocket(port); // connected, never sends a byte
    const cut_short = await openSocket(port);
    cut_short.write('GET /healthz HTTP/1.1\r\nHost: payrail\r\n'); // headers never finished

    const signalled_ms = Date.now();
    server.kill('SIGTERM');
    expect(await exitCodeWithin(server, IDLE_EXIT_BOUND_MS)).toBe(0);
    expect(Date.now() - signalled_ms).toBeLessThan(IDLE_EXIT_BOUND_MS);
    agent.destroy();
    silent.destroy();
    cut_short.destroy();
  });

  it('answers the request in flight, takes no new ones, then exits 0', { timeout: 60_000 }, async () => {
    server = await startServer({ PAYRAIL_SANDBOX_LATENCY_MS: String(PROCESSOR_LATENCY_MS) });
    const in_flight = pay(port, 4200);
    await sleep(SIGNAL_AFTER_MS);
    server.kill('SIGTERM');
    await sleep(SIGNAL_AFTER_MS / 5);
    const late = await pay(port, 4300);

    const answer = await in_flight;
    expect(answer.status).toBe(200);
    expect(answer.body?.status).toBe('succeeded');
    // A request arriving during the stop is refused: no connection, or Stripe's retryable 503.
    expect([0, 503]).toContain(late.status);
    if (late.status === 503) expect(late.body?.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
    expect(await exitCodeWithin(server, STOP_BOUND_MS)).toBe(0);

    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const stored = await db.query<{ status: string; amount: string }>('SELECT status, amount FROM payments.payment_intents ORDER BY created');
      expect(stored.rows.map((row) => [row.status, Number(row.amount)])).toEqual([['succeeded', 4200]]);
    } finally {
      await db.end();
    }
  });
});

function openSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {}); // the server closing it at shutdown is expected
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('a restart after a hard kill, on the embedded database', () => {
  let data_dir: string;
  let api_port: number;
  let pg_port: number;
  let server: ChildProcess | undefined;
  const payments: string[] = [];

  const lock_file = (): string => join(data_dir, 'pg', 'postmaster.pid');
  const postmasterPid = (): number => Number(readFileSync(lock_file(), 'utf8').split('\n')[0]);

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const { DATABASE_URL: _external, ...rest } = process.env;
    return {
      ...rest,
      PORT: String(api_port),
      HOST: '127.0.0.1',
      PAYRAIL_DATA_DIR: data_dir,
      PAYRAIL_EMBEDDED_PG_PORT: String(pg_port),
      PAYRAIL_BOOTSTRAP_SECRET_KEY: SECRET_KEY,
      LOG_LEVEL: 'warn',
      // Servers started side by side must not all claim the default metrics port.
      PAYRAIL_METRICS_PORT: '0',
      ...extra,
    };
  }

  async function start(): Promise<void> {
    const started = await spawnServer(env(), EMBEDDED_START_TIMEOUT_MS);
    server = started.child;
    if (!started.output().includes('Payrail is running')) throw new Error(`server did not start: ${started.output()}`);
  }

  async function payAndRemember(amount: number): Promise<void> {
    const paid = await pay(api_port, amount);
    expect(paid.body?.status).toBe('succeeded');
    payments.push(String(paid.body?.id));
  }

  async function expectEveryPaymentKept(): Promise<void> {
    for (const id of payments) expect((await call(api_port, 'GET', `/v1/payment_intents/${id}`)).body?.status).toBe('succeeded');
  }

  async function stopCleanly(): Promise<void> {
    server?.kill('SIGTERM');
    expect(await exitCodeWithin(server as ChildProcess, STOP_BOUND_MS)).toBe(0);
    // PostgreSQL removes its lock file only when it shuts down cleanly.
    expect(existsSync(lock_file())).toBe(false);
  }

  async function killHard(options: { database_too: boolean }): Promise<number> {
    const postgres = postmasterPid();
    server?.kill('SIGKILL');
    await exitCodeWithin(server as ChildProcess, STOP_BOUND_MS);
    if (options.database_too) process.kill(postgres, 'SIGKILL');
    return postgres;
  }

  beforeAll(async () => {
    data_dir = mkdtempSync(join(tmpdir(), 'payrail-restart-'));
    api_port = await freePort();
    pg_port = await freePort();
  });

  afterAll(async () => {
    if (server?.exitCode === null) server.kill('SIGKILL');
    if (existsSync(lock_file())) {
      try {
        process.kill(postmasterPid(), 'SIGINT');
      } catch {
        // already gone
      }
    }
    rmSync(data_dir, { recursive: true, force: true });
  });

  it('reconnects to the PostgreSQL a killed server left running, and stops it on SIGTERM', { timeout: 120_000 }, async () => {
    await start();
    await payAndRemember(2000);
    const postgres = await killHard({ database_too: false });
    expect(() => process.kill(postgres, 0)).not.toThrow(); // the orphan lives on

    await start();
    await expectEveryPaymentKept();
    await stopCleanly();
  });

  it('clears the stale postmaster.pid a killed PostgreSQL leaves, and recovers its data', { timeout: 120_000 }, async () => {
    await start();
    await payAndRemember(2100);
    await killHard({ database_too: true });
    expect(existsSync(lock_file())).toBe(true);

    await start();
    await expectEveryPaymentKept();
    await stopCleanly();
  });

  it('clears a postmaster.pid whose pid now belongs to another program (reused after a power loss)', { timeout: 120_000 }, async () => {
    await start();
    await payAndRemember(2200);
    await killHard({ database_too: true });
    const lines = readFileSync(lock_file(), 'utf8').split('\n');
    lines[0] = String(process.pid); // alive, and not PostgreSQL: PostgreSQL itself refuses to start over it
    writeFileSync(lock_file(), lines.join('\n'));

    await start();
    await expectEveryPaymentKept();
    await stopCleanly();
  });

  it('says in one line why the database cannot start, and what to do', { timeout: 120_000 }, async () => {
    const taken_port = await freePort();
    const squatter = await listenEverywhere(taken_port);
    try {
      const failed = await spawnServer(env({ PAYRAIL_EMBEDDED_PG_PORT: String(taken_port) }), EMBEDDED_START_TIMEOUT_MS);
      expect(await exitCodeWithin(failed.child, EMBEDDED_START_TIMEOUT_MS)).toBe(1);
      const said = failed.output().trim();
      expect(said.split('\n')).toHaveLength(1);
      expect(said).toMatch(/^payrail: could not start: embedded PostgreSQL in .+ did not start: .+set PAYRAIL_EMBEDDED_PG_PORT to a free port\)$/);
      expect(said).not.toContain(readFileSync(join(secretsDir(env(), data_dir), 'db-superuser-password'), 'utf8').trim());
    } finally {
      squatter.close();
    }
  });
});

/** A program that is not PostgreSQL holding a port on every loopback address PostgreSQL would use. */
function listenEverywhere(port: number): Promise<net.Server> {
  const listen = (host: string): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      const squatter = net.createServer((socket) => socket.on('error', () => {}));
      squatter.once('error', reject);
      squatter.listen(port, host, () => resolve(squatter));
    });
  return listen('::').catch(() => listen('127.0.0.1')); // '::' also takes IPv4 where IPv6 exists
}

describe('the draining HTTP server, in process', () => {
  const DRAIN_MS = 300;

  async function listening(handler: (reply: { send(body: unknown): void }) => void) {
    const app = Fastify({ serverFactory: (serve, options) => new DrainingServer(serve, options), return503OnClosing: false });
    app.get('/hold', (_request, reply) => handler(reply));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, url };
  }

  it('sends the answer in flight at close with Connection: close', { timeout: 10_000 }, async () => {
    let answer: (() => void) | undefined;
    const { app, url } = await listening((reply) => {
      answer = () => reply.send({ ok: true });
    });
    const response = new Promise<http.IncomingMessage>((resolve) => http.get(`${url}/hold`, { agent: new http.Agent({ keepAlive: true }) }, resolve));
    while (!answer) await sleep(10);
    const closing = closeWithin(app, DRAIN_MS);
    while (app.server.listening) await sleep(5); // Fastify reaches server.close() a few ticks later
    answer();
    const received = await response;
    expect(received.statusCode).toBe(200);
    expect(received.headers.connection).toBe('close');
    received.resume();
    await closing;
  });

  it('cuts a request still unanswered when the drain bound passes, so the close completes', { timeout: 10_000 }, async () => {
    const { app, url } = await listening(() => {}); // never answers
    const outcome = new Promise<string>((resolve) =>
      http.get(`${url}/hold`, () => resolve('answered')).on('error', (error: NodeJS.ErrnoException) => resolve(String(error.code))),
    );
    await sleep(100); // the request reaches the handler
    const started_ms = Date.now();
    await closeWithin(app, DRAIN_MS);
    expect(Date.now() - started_ms).toBeGreaterThanOrEqual(DRAIN_MS - 20);
    expect(await outcome).toBe('ECONNRESET');
  });
});

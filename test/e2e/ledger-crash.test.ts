import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { freePort, serverEnv, startServerProcess } from '../support/processes.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import type { Db } from '../../src/platform/db.js';

/**
 * The real server (dist/main.js, built by `npm test`) is killed with SIGKILL while its ledger worker
 * is posting a backlog of payments events, restarted, and `payrail ledger verify` (dist/cli.js) must
 * then pass: every captured charge and refund posted once, nothing missing, nothing doubled.
 */
const SECRET_KEY = 'sk_test_ledgerCrash00000000000001';
// About 1 300 events: three consumer batches, so the kill after the first lands while more are posting.
const PAYMENTS = 360;
const REFUND_EVERY = 4;
const CONCURRENCY = 16;
const WAIT_LIMIT_MS = 30_000;
const CONSUMER_LOCK = 'payrail.consumer:ledger';

let database: TestDatabase;
let data_dir: string;
let port: number;
let server: ChildProcess | undefined;
let db: pg.Client;

function env(): NodeJS.ProcessEnv {
  return serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY });
}

function startServer(): Promise<ChildProcess> {
  return startServerProcess(env(), port);
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function api(path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function payAndMaybeRefund(i: number): Promise<void> {
  const paid = await api('/v1/payment_intents', `amount=${1000 + i}&currency=usd&payment_method=pm_card_visa&confirm=true`);
  expect(paid.status).toBe(200);
  if (i % REFUND_EVERY === 0) expect((await api('/v1/refunds', `payment_intent=${String(paid.json.id)}&amount=${100 + i}`)).status).toBe(200);
}

async function count(sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql)).rows[0]?.n ?? -1;
}

// A plain client answers queries as a pool client does; the lag query needs nothing else.
const lag = async () => (await consumerLag(db as unknown as Db, 'ledger', 0)).events_behind;

beforeAll(async () => {
  if (!existsSync('dist/services/ledger/app/verify.js')) throw new Error('dist/ is missing the ledger: run `npm run build` (npm test does) first');
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-ledger-crash-'));
  port = await freePort();
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await db?.end().catch(() => {});
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('a server killed while the ledger posts', () => {
  it('posts everything exactly once after restart, and ledger verify passes', { timeout: 90_000 }, async () => {
    server = await startServer();
    db = new pg.Client({ connectionString: database.url });
    db.on('error', () => {});
    await db.connect();

    // Hold the ledger consumer back (its advisory lock) so the payments build a backlog.
    await db.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [CONSUMER_LOCK]);
    for (let i = 0; i < PAYMENTS; i += CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, PAYMENTS - i) }, (_, k) => payAndMaybeRefund(i + k)));
    }
    const backlog = await lag();
    expect(backlog).toBeGreaterThan(PAYMENTS * 3);
    expect(await count('SELECT count(*)::int AS n FROM ledger.transfers')).toBe(0);

    // Let the ledger go, and kill the server as soon as the first batch has committed.
    await db.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [CONSUMER_LOCK]);
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while ((await count('SELECT count(*)::int AS n FROM ledger.transfers')) === 0) {
      if (Date.now() > deadline) throw new Error('the ledger never started posting');
    }
    await kill(server);
    server = undefined;
    const left = await lag();
    expect(left).toBeGreaterThan(0); // killed mid-backlog: postings were still being applied
    expect(left).toBeLessThan(backlog);

    server = await startServer();
    while ((await lag()) > 0) {
      if (Date.now() > deadline) throw new Error('the ledger did not catch up after restart');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const captured = await count(`SELECT count(*)::int AS n FROM payments.charges WHERE amount_captured > 0`);
    expect(captured).toBe(PAYMENTS);
    expect(await count(`SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'capture'`)).toBe(PAYMENTS);
    expect(await count(`SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'refund'`)).toBe(PAYMENTS / REFUND_EVERY);

    const verify = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['dist/cli.js', 'ledger', 'verify'], { env: env() }, (error, stdout) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
      });
    });
    expect(verify.stdout).toMatch(/^ledger verify: OK\n/);
    expect(verify.stdout).toContain(`${PAYMENTS} captured charges and ${PAYMENTS / REFUND_EVERY} refunds reconciled with payments; 0 still in flight`);
    expect(verify.code).toBe(0);

    // And verify does fail, naming the problem, when the ledger is wrong.
    await db.query(`UPDATE ledger.accounts SET credits_posted = credits_posted + 1 WHERE code = 'merchant_pending'`);
    const broken = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['dist/cli.js', 'ledger', 'verify'], { env: env() }, (error, stdout) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
      });
    });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/ledger verify: 1 problem\(s\)[\s\S]*account merchant_pending of acct_\w+ in usd records/);
  });
});

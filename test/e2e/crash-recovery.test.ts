import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { freePort, serverEnv, startServerProcess } from '../support/processes.js';

/**
 * The real server process (dist/main.js, built by `npm test`) is killed with SIGKILL while payments
 * are in flight — many between the processor's answer and the commit — restarted, and every request
 * retried with its Idempotency-Key at once: each key must end as exactly one succeeded intent with
 * exactly one charge and, on the processor's own record, exactly one authorization. The dead
 * process's locks are taken over at once (its lease ended with it), not after the stale limit.
 */
const SECRET_KEY = 'sk_test_crashCrashCrash000000001';
const PAYMENTS = 120;
const CONCURRENCY = 16;
/** Keys locked by requests in flight when the server is killed. */
const LOCKS_AT_KILL = 4;
const LOCKS_WAIT_MS = 20_000;

let database: TestDatabase;
let data_dir: string;
let port: number;
let server: ChildProcess | undefined;

function startServer(): Promise<ChildProcess> {
  const env = serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY }, { PAYRAIL_SANDBOX_LATENCY_MS: '60' });
  return startServerProcess(env, port);
}

function pay(key: string): Promise<{ status: number; id?: string }> {
  return fetch(`http://127.0.0.1:${port}/v1/payment_intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': key },
    body: `amount=${1000 + Number(key.split('-')[1])}&currency=usd&payment_method=pm_card_visa&confirm=true`,
  }).then(
    async (r) => ({ status: r.status, id: ((await r.json()) as { id?: string }).id }),
    () => ({ status: 0 }),
  );
}

async function inBatches<T>(items: string[], work: (item: string) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY) results.push(...(await Promise.all(items.slice(i, i + CONCURRENCY).map(work))));
  return results;
}

async function waitForLocksHeld(db: pg.Client, at_least: number): Promise<void> {
  const deadline = Date.now() + LOCKS_WAIT_MS;
  for (;;) {
    const held = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE lock_token IS NOT NULL');
    if ((held.rows[0]?.n ?? 0) >= at_least) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${at_least} keys locked at once within ${LOCKS_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-crash-'));
  port = await freePort();
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('a server killed mid-payment', () => {
  it('loses nothing and doubles nothing once requests are retried with their keys', { timeout: 120_000 }, async () => {
    server = await startServer();
    const db = new pg.Client({ connectionString: database.url });
    db.on('error', () => {}); // the database is dropped after the test, possibly under this client
    await db.connect();
    try {
      const keys = Array.from({ length: PAYMENTS }, (_, i) => `crash-${i}`);
      const first_wave = inBatches(keys, pay);
      // Killed once requests hold their keys, not after a fixed time, which a slow machine can miss.
      await waitForLocksHeld(db, LOCKS_AT_KILL);
      server.kill('SIGKILL');
      const first = await first_wave;
      expect(first.some((r) => r.status === 0)).toBe(true); // the kill really cut requests off

      server = await startServer();
      const in_flight = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE lock_token IS NOT NULL AND locked_at_ms > $1`,
        [Date.now() - 60_000],
      );
      expect(in_flight.rows[0]?.n).toBeGreaterThan(0); // fresh locks of the dead process: no waiting them out
      const retried = await inBatches(keys, pay);
      expect(retried.every((r) => r.status === 200)).toBe(true);

      // Every answer for a key names the same intent, before and after the crash.
      keys.forEach((_, i) => {
        if (first[i]?.status === 200) expect(retried[i]?.id).toBe(first[i]?.id);
      });
      const intents = await db.query(`SELECT status, count(*)::int AS n FROM payments.payment_intents GROUP BY status`);
      expect(intents.rows).toEqual([{ status: 'succeeded', n: PAYMENTS }]);
      const charges = await db.query(`SELECT payment_intent_id, count(*)::int AS n FROM payments.charges GROUP BY payment_intent_id HAVING count(*) <> 1`);
      expect(charges.rows).toEqual([]);
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.charges WHERE status = 'succeeded' AND amount_captured = amount`);
      expect(total.rows[0]?.n).toBe(PAYMENTS);
      const keys_done = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE response_status = 200`);
      expect(keys_done.rows[0]?.n).toBe(PAYMENTS);
      // The processor's record: one authorization per key (amounts are distinct per key).
      const attempts = await db.query(`SELECT count(*)::int AS n, count(DISTINCT amount)::int AS amounts FROM sandbox.attempts`);
      expect(attempts.rows[0]).toEqual({ n: PAYMENTS, amounts: PAYMENTS });
      const open = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.processor_calls WHERE status = 'pending'`);
      expect(open.rows[0]?.n).toBe(0);
    } finally {
      await db.end();
    }
  });
});

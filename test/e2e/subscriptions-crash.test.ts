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
 * The real server process (dist/main.js, built by `npm test`) is killed with SIGKILL while
 * subscriptions are being created — some recorded with their first invoice and waiting on the
 * processor — restarted, and every creation retried with its Idempotency-Key: each key ends as
 * exactly one active subscription with one paid invoice and one charge, and the processor's own
 * record holds one authorization per subscription.
 */
const SECRET_KEY = 'sk_test_subsCrashSubsCrash00000001';
const SUBSCRIPTIONS = 40;
const CONCURRENCY = 10;

let database: TestDatabase;
let data_dir: string;
let port: number;
let server: ChildProcess | undefined;

function startServer(): Promise<ChildProcess> {
  const env = serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY }, { PAYRAIL_SANDBOX_LATENCY_MS: '60' });
  return startServerProcess(env, port);
}

async function call(path: string, body: string, key?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded' };
  if (key !== undefined) headers['idempotency-key'] = key;
  return fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers, body }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
    () => ({ status: 0, body: {} }),
  );
}

async function inBatches<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY) results.push(...(await Promise.all(items.slice(i, i + CONCURRENCY).map(work))));
  return results;
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-subs-crash-'));
  port = await freePort();
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('a server killed while subscriptions are created', () => {
  it('makes one subscription, one invoice and one charge per key once retried', { timeout: 180_000 }, async () => {
    server = await startServer();
    const price = await call('/v1/prices', 'currency=usd&unit_amount=1500&recurring[interval]=month&product_data[name]=Seats');
    expect(price.status).toBe(200);
    const customers = await inBatches(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => i),
      async () => {
        const customer = await call('/v1/customers', 'email=crash@example.com');
        const method = await call('/v1/payment_methods/pm_card_visa/attach', `customer=${String(customer.body.id)}`);
        await call(`/v1/customers/${String(customer.body.id)}`, `invoice_settings[default_payment_method]=${String(method.body.id)}`);
        return String(customer.body.id);
      },
    );
    const subscribe = (customer: string) => call('/v1/subscriptions', `customer=${customer}&items[0][price]=${String(price.body.id)}`, `subscribe-${customer}`);
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    const first_wave = inBatches(customers, subscribe);
    // Killed as soon as a subscription is recorded and its payment is on its way to the processor.
    await until(
      async () => (await watcher.query<{ n: number }>(`SELECT count(*)::int AS n FROM billing.subscriptions WHERE status = 'incomplete'`)).rows[0]!.n > 0,
    );
    server.kill('SIGKILL');
    await watcher.end();
    const first = await first_wave;
    expect(first.some((r) => r.status === 0)).toBe(true); // the kill really cut requests off

    server = await startServer();
    const db = new pg.Client({ connectionString: database.url });
    db.on('error', () => {}); // the database is dropped after the test, possibly under this client
    await db.connect();
    try {
      // Subscriptions the dead process recorded but whose payment it never settled: the window the retries must close.
      const recorded = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM billing.subscriptions WHERE status = 'incomplete'`);
      expect(recorded.rows[0]?.n).toBeGreaterThan(0);
      const retried = await inBatches(customers, subscribe);
      expect(retried.map((r) => [r.status, r.body.status])).toEqual(customers.map(() => [200, 'active']));
      customers.forEach((_, i) => {
        if (first[i]?.status === 200) expect(retried[i]?.body.id).toBe(first[i]?.body.id);
      });
      const per_customer = await db.query(`SELECT customer_id, count(*)::int AS n FROM billing.subscriptions GROUP BY customer_id HAVING count(*) <> 1`);
      expect(per_customer.rows).toEqual([]);
      const subscriptions = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM billing.subscriptions WHERE status = 'active'`);
      expect(subscriptions.rows[0]?.n).toBe(SUBSCRIPTIONS);
      const invoices = await db.query(`SELECT status, count(*)::int AS n FROM billing.invoices GROUP BY status`);
      expect(invoices.rows).toEqual([{ status: 'paid', n: SUBSCRIPTIONS }]);
      const charges = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.charges WHERE status = 'succeeded'`);
      expect(charges.rows[0]?.n).toBe(SUBSCRIPTIONS);
      const attempts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sandbox.attempts`);
      expect(attempts.rows[0]?.n).toBe(SUBSCRIPTIONS);
    } finally {
      await db.end();
    }
  });
});

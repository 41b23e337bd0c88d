import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { createPool } from '../../src/platform/db.js';
import { migrate } from '../../src/platform/migrations.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import { ORPHAN_LIMITS, ORPHAN_SWEEP_TIMEOUT_MS } from '../../src/services/payments/index.js';
import { stripeClient } from '../support/platform.js';
import { freePort, serverEnv, startServerProcess } from '../support/processes.js';

/**
 * The real server process is killed with SIGKILL while invoices are being paid — many between the
 * processor's answer and the invoice's update — restarted, and every invoice paid again at once,
 * with no Idempotency-Key of the caller's: the invoice's own keys (its id and attempt number) and the
 * reconciliation from its PaymentIntent must leave each invoice paid exactly once, with exactly one
 * authorization per invoice on the processor's own record.
 */
const SECRET_KEY = 'sk_test_invoiceCrash000000000001';
const INVOICES = 30;
const CONCURRENCY = 15;
const RETRY_INTERVAL_MS = 200;
/**
 * Long enough for the slowest path: an attempt the kill left recorded but unsent. Paying the invoice
 * again finds its PaymentIntent `processing` and waits; the sweeper leaves the attempt for a retry of
 * its own request for the resend window (30 s), then fails it, and the next pay makes attempt 2. Plus
 * the 15 s an orphan sweep killed mid-run holds the next one back (ORPHAN_SWEEP_TIMEOUT_MS), and slack.
 */
const RETRIES = Math.ceil((ORPHAN_LIMITS.resend_window_ms + ORPHAN_SWEEP_TIMEOUT_MS + 5_000) / RETRY_INTERVAL_MS);

let database: TestDatabase;
let data_dir: string;
let port: number;
let server: ChildProcess | undefined;

function startServer(): Promise<ChildProcess> {
  const env = serverEnv({ port, database_url: database.url, data_dir, secret_key: SECRET_KEY }, { PAYRAIL_SANDBOX_LATENCY_MS: '60' });
  return startServerProcess(env, port);
}

function pay(id: string): Promise<{ status: number; body: { status?: string; error?: { message?: string } } }> {
  return fetch(`http://127.0.0.1:${port}/v1/invoices/${id}/pay`, { method: 'POST', headers: { authorization: `Bearer ${SECRET_KEY}` } }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as { status?: string } }),
    () => ({ status: 0, body: {} }),
  );
}

async function inBatches<T>(items: string[], work: (item: string) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY) results.push(...(await Promise.all(items.slice(i, i + CONCURRENCY).map(work))));
  return results;
}

beforeAll(async () => {
  database = await createTestDatabase();
  // Migrated here, so the server's first start (timed) does not spend its time on the schema.
  const pool = createPool(database.url, 2);
  await migrate(pool, ALL_MIGRATIONS).finally(() => pool.end());
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-invoice-crash-'));
  port = await freePort();
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

describe('a server killed while invoices are paid', () => {
  it('pays each invoice exactly once after the retries', { timeout: 180_000 }, async () => {
    server = await startServer();
    const stripe = stripeClient(`http://127.0.0.1:${port}`, SECRET_KEY);
    const ids = await inBatches(
      Array.from({ length: INVOICES }, (_, i) => String(i)),
      async (i) => {
        const customer = await stripe.customers.create({ email: `crash-${i}@example.com` });
        const method = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
        await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
        // Distinct amounts: the processor's record tells the invoices apart by amount.
        await stripe.invoiceItems.create({ customer: customer.id, amount: 1000 + Number(i), currency: 'usd' });
        const draft = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
        return (await stripe.invoices.finalizeInvoice(draft.id)).id;
      },
    );

    const first_wave = inBatches(ids, pay);
    await new Promise((resolve) => setTimeout(resolve, 150));
    server.kill('SIGKILL');
    const first = await first_wave;
    expect(first.some((r) => r.status === 0)).toBe(true); // the kill really cut payments off

    server = await startServer();
    // Retried as a client would: again on 409 (the same attempt still settling) or 503, and again on an
    // invoice still `open` because its PaymentIntent is `processing` (an attempt the kill left unsettled,
    // until the sweeper asks the processor), never more than needed.
    const retried = await inBatches(ids, async (id) => {
      for (let tries = 1; ; tries++) {
        const result = await pay(id);
        const settling =
          result.status === 409 ||
          result.status === 503 ||
          result.status === 0 ||
          (result.status === 200 && result.body.status === 'open') ||
          // An attempt the kill left unsent is failed by the sweeper: Stripe's "Try again in a little bit".
          result.body.error?.message?.startsWith('An error occurred while processing your card') === true;
        if (!settling || tries >= RETRIES) return result;
        await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
      }
    });
    for (const [i, result] of retried.entries()) {
      // Paid by this retry, or already paid by the first wave (Stripe's "Invoice is already paid").
      const outcome = result.status === 200 ? result.body.status : result.body.error?.message;
      expect([ids[i], outcome]).toEqual([ids[i], result.status === 200 ? 'paid' : 'Invoice is already paid']);
    }

    const db = new pg.Client({ connectionString: database.url });
    db.on('error', () => {}); // the database is dropped after the test, possibly under this client
    await db.connect();
    try {
      const invoices = await db.query(`SELECT status, count(*)::int AS n FROM billing.invoices GROUP BY status`);
      expect(invoices.rows).toEqual([{ status: 'paid', n: INVOICES }]);
      // A try the kill left unsent is failed by the sweeper and counts as an attempt; the next one pays.
      // Never more than that, and the processor's record below still holds one authorization per invoice.
      const counts = await db.query(`SELECT count(*)::int AS n FROM billing.invoices WHERE (state->>'attempt_count')::int NOT BETWEEN 1 AND 2`);
      expect(counts.rows[0]).toEqual({ n: 0 });
      const charges = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM payments.charges c JOIN billing.invoices i ON i.state->>'payment_intent' = c.payment_intent_id
          WHERE c.status = 'succeeded'`,
      );
      expect(charges.rows[0]?.n).toBe(INVOICES);
      const attempts = await db.query(`SELECT count(*)::int AS n, count(DISTINCT amount)::int AS amounts FROM sandbox.attempts`);
      expect(attempts.rows[0]).toEqual({ n: INVOICES, amounts: INVOICES });
      const intents = await db.query(`SELECT count(*)::int AS n FROM payments.payment_intents`);
      expect(intents.rows[0]).toEqual({ n: INVOICES });
    } finally {
      await db.end();
    }
  });
});

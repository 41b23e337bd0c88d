import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { OwnPostgres } from '../support/own-postgres.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';

/**
 * PostgreSQL is SIGKILLed while payments wait on the processor, then started again (crash recovery).
 * Clients retry every key as the official SDKs do. Before the fix, an asynchronously committed
 * idempotency lock was lost in the crash and the retry authorized a second time. Checked on the
 * processor's own record: exactly one authorization per key.
 */
const PAYMENTS = 30;
const PROCESSOR_LATENCY_MS = 300;
const CLIENT_DEADLINE_MS = 45_000;
const RETRY_DELAY_MS = 150;
const SECRET_KEY = 'sk_test_payrailTestKey0000000000000001';

let database: OwnPostgres;
let t: TestPlatform;
let db: pg.Pool;
let receiver: Receiver;

beforeAll(async () => {
  database = await OwnPostgres.start();
  t = await startTestPlatform({ database_url: database.url, sandbox_latency_ms: PROCESSOR_LATENCY_MS }, { events: { nats_url: null } });
  db = new pg.Pool({ connectionString: database.url, max: 2 });
  db.on('error', () => {});
  receiver = await startReceiver();
  const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['charge.succeeded'] });
  receiver.secret = endpoint.secret ?? '';
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await db?.end();
  await t?.stop();
  await database?.stop();
}, 60_000);

interface Answer {
  status: number;
  body: { id?: string; status?: string; error?: { code?: string } };
}

/** One payment, retried with its key until it gets an answer that is not a transient failure. */
async function payUntilAnswered(index: number): Promise<{ answer: Answer; tries: number }> {
  const form = new URLSearchParams({ amount: String(10_000 + index), currency: 'usd', payment_method: 'pm_card_visa', confirm: 'true' });
  const deadline = Date.now() + CLIENT_DEADLINE_MS;
  for (let tries = 1; ; tries += 1) {
    const answer = await fetch(`${t.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': `crash-${index}` },
      body: form,
    }).then(
      async (r) => ({ status: r.status, body: (await r.json()) as Answer['body'] }),
      () => ({ status: 0, body: {} }),
    );
    const transient = answer.status === 0 || answer.status === 409 || answer.status >= 500;
    if (!transient || Date.now() > deadline) return { answer, tries };
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
  }
}

async function scalar(text: string): Promise<number> {
  return Number((await db.query<{ n: string }>(text)).rows[0]?.n);
}

describe('PostgreSQL killed while payments wait on the processor', () => {
  it("charges every key exactly once, by the processor's own record, and the books balance", async () => {
    const payments = Promise.all(Array.from({ length: PAYMENTS }, (_, i) => payUntilAnswered(i)));
    // Kill while most payments are recorded and waiting on the processor.
    await new Promise((resolve) => setTimeout(resolve, PROCESSOR_LATENCY_MS / 2));
    await database.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await database.restart();
    const results = await payments;

    for (const { answer } of results) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    for (const { answer } of results) expect(answer.body.status).toBe('succeeded');
    expect(new Set(results.map((r) => r.answer.body.id)).size).toBe(PAYMENTS);
    expect(
      results.some((r) => r.tries > 1),
      'the crash interrupted some requests',
    ).toBe(true);

    // The processor's record: one authorization per amount, i.e. per key, however often it was asked.
    expect(await scalar(`SELECT count(*) AS n FROM sandbox.attempts WHERE amount BETWEEN 10000 AND ${10_000 + PAYMENTS - 1}`)).toBe(PAYMENTS);
    expect(await scalar(`SELECT count(*) AS n FROM (SELECT amount FROM sandbox.attempts GROUP BY amount HAVING count(*) > 1) d`)).toBe(0);
    expect(await scalar(`SELECT count(*) AS n FROM payments.charges WHERE status = 'succeeded'`)).toBe(PAYMENTS);
    expect(await scalar(`SELECT count(*) AS n FROM payments.processor_calls WHERE status = 'pending'`)).toBe(0);

    // The merchant's webhook receiver gets each charge once (verified with the SDK's signature check).
    await waitFor('a charge.succeeded webhook per payment', () => new Set(receiver.delivered().map((event) => event.id)).size >= PAYMENTS, 20_000);
    const charges = receiver.delivered().map((event) => (event.data.object as { id: string }).id);
    expect(new Set(charges).size).toBe(PAYMENTS); // none lost
    expect(new Set(receiver.delivered().map((event) => event.id)).size).toBe(PAYMENTS); // one event per charge, none doubled
    expect(receiver.rejected).toEqual([]);

    // Every charge reaches the ledger once, and the books agree with payments.
    await waitUntil(async () => {
      const report = await verifyLedger(db, Math.floor(Date.now() / 1000), ledgerRecords);
      return report.problem_count === 0 && report.in_flight === 0 && report.counts.charges === PAYMENTS;
    }, 20_000);
  }, 90_000);
});

async function waitUntil(check: () => Promise<boolean>, timeout_ms: number): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

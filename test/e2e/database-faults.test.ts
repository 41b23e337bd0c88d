import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { ORPHAN_LIMITS, ORPHAN_SWEEP_TIMEOUT_MS } from '../../src/services/payments/index.js';

/**
 * The database lost or frozen under the running platform, through a TCP proxy between them: the
 * process keeps running, clients get Stripe's retryable 503 within a bound, and the pool heals
 * without a restart once PostgreSQL answers again.
 */

/** Every confirm waits this long on the sandbox processor: requests are in flight long enough to hit. */
const PROCESSOR_LATENCY_MS = 1_000;
/** Short database limits keep the test quick; the defaults are longer (README, Settings). */
const STATEMENT_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 1_000;
/** A request in flight meets at most two timeouts: its own query, then freeing its Idempotency-Key. */
const FROZEN_ANSWER_MAX_MS = 8_000;
const READYZ_ANSWER_MAX_MS = 1_200;
const REQUEST_TIMEOUT_MS = 20_000;
/** How long backends of in-flight requests are terminated, and how often. */
const TERMINATE_FOR_MS = 1_500;
const TERMINATE_EVERY_MS = 100;
const SESSIONS_GONE_MAX_MS = 5_000;
const CONCURRENT_CONFIRMS = 4;
/**
 * An attempt the processor never recorded waits out the resend window for a retry, then the sweeper
 * fails it; if the faults also cut the sweep's own run, the next waits for its timeout and the
 * scheduler's 15 s maintenance.
 */
const SETTLED_MAX_MS = ORPHAN_LIMITS.resend_window_ms + ORPHAN_SWEEP_TIMEOUT_MS + 15_000 + 10_000;

let proxy: TcpProxy;
let tp: TestPlatform;
let admin: pg.Client;
let database_name: string;

beforeAll(async () => {
  const admin_url = new URL(inject('admin_database_url'));
  proxy = await TcpProxy.start({ host: admin_url.hostname, port: Number(admin_url.port || 5432) });
  tp = await startTestPlatform(
    {
      sandbox_latency_ms: PROCESSOR_LATENCY_MS,
      db_statement_timeout_ms: STATEMENT_TIMEOUT_MS,
      db_connect_timeout_ms: CONNECT_TIMEOUT_MS,
    },
    { route_database: (url) => proxy.route(url) },
  );
  database_name = new URL(tp.platform.database.url).pathname.slice(1);
  // Straight to the test's database, not through the proxy: the test's own session survives the faults.
  const direct = new URL(inject('admin_database_url'));
  direct.pathname = `/${database_name}`;
  admin = new pg.Client({ connectionString: direct.toString() });
  await admin.connect();
});
afterAll(async () => {
  proxy?.resume();
  await admin?.end();
  await tp?.stop();
  await proxy?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: {
    id?: string;
    status?: string;
    latest_charge?: string | null;
    review?: string | null;
    outcome?: { type?: string };
    payment_intent?: string;
    error?: Record<string, unknown>;
  };
  elapsed_ms: number;
}

async function api(method: 'GET' | 'POST', path: string, params: Record<string, string> = {}, idempotency_key?: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${tp.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tp.secret_key}`,
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(idempotency_key ? { 'idempotency-key': idempotency_key } : {}),
    },
    body: method === 'POST' ? new URLSearchParams(params).toString() : undefined,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await response.json()) as Answer['body'];
  return { status: response.status, headers: response.headers, body, elapsed_ms: performance.now() - started };
}

function createIntent(confirm: boolean): Promise<Answer> {
  return api(
    'POST',
    '/v1/payment_intents',
    { amount: '2000', currency: 'usd', payment_method: 'pm_card_visa', ...(confirm ? { confirm: 'true' } : {}) },
    randomUUID(),
  );
}

function confirm(id: string): Promise<Answer> {
  return api('POST', `/v1/payment_intents/${id}/confirm`, {}, randomUUID());
}

async function readyz(): Promise<{ status: number; elapsed_ms: number }> {
  const started = performance.now();
  const response = await fetch(`${tp.url}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await response.text();
  return { status: response.status, elapsed_ms: performance.now() - started };
}

/** Stripe's error shape, retryable, and nothing about where or how the database is reached. */
function expectUnavailable(answer: Answer): void {
  expect(answer.status).toBe(503);
  expect(answer.headers.get('stripe-should-retry')).toBe('true');
  expect(answer.body.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
  expect(answer.body.error?.message).toEqual(expect.any(String));
  const text = JSON.stringify(answer.body);
  const upstream = new URL(inject('admin_database_url'));
  for (const secret of [database_name, `:${proxy.port}`, `:${upstream.port || 5432}`, upstream.username, 'ECONNRE', 'terminat', 'timeout']) {
    expect(text).not.toContain(secret);
  }
}

/**
 * Paid, a retryable 503, or `processing` (200): the sandbox processor's own record was cut mid-write, so
 * the attempt's outcome is unknown and the sweeper settles it by status inquiry, as Stripe's does.
 */
function expectSettledOrUnavailable(answer: Answer): void {
  if (answer.status === 200) expect(answer.body.status).toMatch(/^(succeeded|processing)$/);
  else expectUnavailable(answer);
}

/**
 * A `processing` intent leaves that state within a bound: succeeded, or free to be paid again. Or its
 * attempt is answered and the payment waits in manual review (Radar's rule when the risk engine could
 * not score it: the faults may cut that read too), which keeps a PaymentIntent `processing` until a
 * reviewer approves it.
 */
async function expectSettled(id: string): Promise<void> {
  const deadline = performance.now() + SETTLED_MAX_MS;
  for (;;) {
    const read = await api('GET', `/v1/payment_intents/${id}`);
    if (read.status === 200 && read.body.status !== 'processing') {
      expect(read.body.status).toMatch(/^(succeeded|requires_payment_method)$/);
      return;
    }
    if (read.status === 200 && (await heldForReview(read.body.latest_charge))) return;
    if (performance.now() > deadline) {
      const calls = await admin.query('SELECT status, holder_lease FROM payments.processor_calls WHERE payment_intent_id = $1', [id]);
      throw new Error(`${id} still processing after ${SETTLED_MAX_MS} ms; its processor calls: ${JSON.stringify(calls.rows)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS));
  }
}

async function heldForReview(charge_id: string | null | undefined): Promise<boolean> {
  if (!charge_id) return false;
  const charge = await api('GET', `/v1/charges/${charge_id}`);
  if (charge.status !== 200 || !charge.body.review) return false;
  expect(charge.body.outcome?.type).toBe('manual_review');
  const review = await api('GET', `/v1/reviews/${charge.body.review}`);
  expect(review.status).toBe(200);
  expect(review.body).toMatchObject({ object: 'review', open: true, payment_intent: charge.body.payment_intent });
  return true;
}

async function expectHealthy(): Promise<void> {
  const paid = await createIntent(true);
  expect(paid.status).toBe(200);
  expect(paid.body.status).toBe('succeeded');
  expect((await api('GET', `/v1/payment_intents/${paid.body.id}`)).status).toBe(200);
  expect((await readyz()).status).toBe(200);
}

/** Terminates every session on the test database but the test's own; answers their pids. */
async function terminateSessions(): Promise<number[]> {
  const result = await admin.query<{ pid: number }>(
    // In the select list, so it runs only on rows the WHERE kept (the test's own session is not one).
    'SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database_name],
  );
  return result.rows.map((row) => row.pid);
}

async function waitForSessionsGone(pids: readonly number[]): Promise<void> {
  const deadline = performance.now() + SESSIONS_GONE_MAX_MS;
  while (performance.now() < deadline) {
    const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids]);
    if (left.rowCount === 0) return;
    await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS));
  }
  throw new Error(`terminated sessions still present after ${SESSIONS_GONE_MAX_MS} ms`);
}

describe('database faults under the running platform', () => {
  it(
    'terminating the sessions of in-flight requests: the process keeps running, requests get 200 or a retryable 503, later ones succeed',
    async () => {
      const intents = await Promise.all(Array.from({ length: CONCURRENT_CONFIRMS }, () => createIntent(false)));
      const confirms = Promise.all(intents.map((intent) => confirm(intent.body.id!)));
      const killed: number[] = [];
      // Every session of the database, repeatedly, for longer than a confirm waits on the processor:
      // whatever stage each request is at (reading, waiting inside its transaction, committing) is hit.
      const deadline = performance.now() + TERMINATE_FOR_MS;
      while (performance.now() < deadline) {
        killed.push(...(await terminateSessions()));
        await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS));
      }
      const answers = await confirms;

      expect(killed.length).toBeGreaterThan(0);
      for (const answer of answers) expectSettledOrUnavailable(answer);
      await waitForSessionsGone(killed);
      for (const answer of answers.filter((each) => each.body.status === 'processing')) await expectSettled(answer.body.id!);
      expect((await fetch(`${tp.url}/healthz`)).status).toBe(200);
      await expectHealthy();
    },
    30_000 + SETTLED_MAX_MS,
  );

  it('a frozen database: in-flight and new requests get a retryable 503 within a bound, /readyz a fast 503, and the pool heals on resume', async () => {
    const intent = await createIntent(false);
    const in_flight = confirm(intent.body.id!);
    // The confirm is past its first queries and waiting on the processor when the database freezes.
    await new Promise((resolve) => setTimeout(resolve, PROCESSOR_LATENCY_MS / 4));
    proxy.freeze();
    const frozen_at = performance.now();

    const [created, read, ready] = await Promise.all([createIntent(false), api('GET', `/v1/payment_intents/${intent.body.id}`), readyz()]);
    expect(ready.status).toBe(503);
    expect(ready.elapsed_ms).toBeLessThan(READYZ_ANSWER_MAX_MS);
    for (const answer of [created, read]) {
      expectUnavailable(answer);
      expect(answer.elapsed_ms).toBeLessThan(FROZEN_ANSWER_MAX_MS);
    }
    const confirmed = await in_flight;
    expectUnavailable(confirmed);
    expect(performance.now() - frozen_at).toBeLessThan(FROZEN_ANSWER_MAX_MS);

    proxy.resume();
    await expectHealthy();
  }, 30_000);

  it('every connection cut: the next requests succeed after at most one 503', async () => {
    await expectHealthy();
    proxy.cut();
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(i % 2 === 0 ? await createIntent(false) : await api('GET', '/v1/payment_intents?limit=1'));
    const unavailable = answers.filter((answer) => answer.status !== 200);
    expect(unavailable.length).toBeLessThanOrEqual(1);
    for (const answer of unavailable) expectUnavailable(answer);
    expect(answers.slice(1).every((answer) => answer.status === 200)).toBe(true);
    await expectHealthy();
  }, 30_000);

  it('logs no connection string', () => {
    const routed = tp.platform.database.url;
    expect(tp.logs.filter((line) => line.includes(routed) || line.includes(inject('admin_database_url')))).toEqual([]);
  });
});

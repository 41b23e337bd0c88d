import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { numbered } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import { OutboxConsumerRunner } from '../../src/services/events/app/consumer-runner.js';
import { webhookConsumer } from '../../src/services/events/webhooks/consumer.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/services/events/webhooks/schedule.js';
import { newWebhookSecret, sealSecret, webhookSecretBox, webhookSecretKey } from '../../src/services/events/webhooks/secrets.js';
import type { WebhookRequest, WebhookResponse } from '../../src/services/events/webhooks/transport.js';
import type { DeliverySettings } from '../../src/services/events/webhooks/delivery-settings.js';
import { DeliveryWorker } from '../../src/services/events/webhooks/worker.js';
import { eventAttempts, failedDeliveries, resendEvent } from '../../src/services/events/webhooks/admin.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The delivery worker on a real PostgreSQL with an injected clock and transport: the real retry
 * schedule (first retry within 10 s, growing to hourly, given up after 3 days) runs in milliseconds.
 */

let pool: Pool;
let drop: () => Promise<void>;
const clock = new ManualClock(Date.UTC(2031, 0, 1));
const ids = new UlidGenerator(clock);
const key_material = randomBytes(32);
const key = webhookSecretKey(key_material);
const logger = createLogger(
  'warn',
  new Writable({
    write(_c, _e, done) {
      done();
    },
  }),
);
let merchant = '';

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(10));
});
afterAll(async () => {
  await drop();
});
beforeEach(() => {
  merchant = `acct_${randomBytes(6).toString('hex')}`;
});
// Claims are global: what one test leaves pending must not reach the next.
afterEach(async () => {
  await pool.query(`UPDATE events.webhook_deliveries SET status = 'canceled' WHERE status = 'pending'`);
});

/** Records every request; answers with `answer` (which may wait). */
function fakeTransport(answer: (request: WebhookRequest) => Promise<WebhookResponse> | WebhookResponse = () => ({ status: 200, error: null, excerpt: 'ok' })) {
  const requests: Array<WebhookRequest & { event: Stripe.Event; endpoint: string }> = [];
  const transport = async (request: WebhookRequest): Promise<WebhookResponse> => {
    requests.push({ ...request, event: JSON.parse(request.body) as Stripe.Event, endpoint: new URL(request.url).pathname.slice(1) });
    return answer(request);
  };
  return { requests, transport };
}

async function endpoint(enabled_events: string[] = ['*'], created = Math.floor(clock.now_ms() / 1000) - 10): Promise<{ id: string; secret: string }> {
  const id = ids.next('webhook_endpoint');
  const secret = newWebhookSecret();
  await pool.query(
    `INSERT INTO events.webhook_endpoints (merchant_id, id, created, url, enabled_events, status, secret_sealed) VALUES ($1, $2, $3, $4, $5, 'enabled', $6)`,
    [merchant, id, created, `http://hooks.test/${id}`, enabled_events, sealSecret(secret, id, key)],
  );
  return { id, secret: secret.reveal() };
}

async function emit(type: string, object_id = `pi_${randomBytes(4).toString('hex')}`): Promise<string> {
  const fragment = outboxInsert(ids, merchant, Math.floor(clock.now_ms() / 1000), { id: null, idempotency_key: null }, [{ type, object: { id: object_id } }]);
  const result = await pool.query<{ id: string }>({ text: `${numbered(fragment)} RETURNING id`, values: fragment.values as unknown[] });
  return result.rows[0]!.id;
}

/**
 * Runs the webhooks consumer until every committed event is enqueued. 'caught_up' alone is not enough:
 * a transaction open anywhere on the PostgreSQL server (other tests) holds the commit-safe horizon back
 * for a moment, and the consumer then sees nothing yet.
 */
async function enqueue(): Promise<void> {
  const runner = new OutboxConsumerRunner(pool, webhookConsumer(clock));
  for (let i = 0; i < 1_000; i++) {
    const round = await runner.runOnce();
    if (round.kind !== 'caught_up') continue;
    if ((await unconsumed()) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the webhooks consumer did not catch up with the outbox');
}

async function unconsumed(): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events.outbox e JOIN events.consumer_offsets o ON o.consumer = 'webhooks' WHERE (e.xid, e.seq) > (o.xid, o.seq)`,
  );
  return result.rows[0]!.n;
}

function worker(transport: ReturnType<typeof fakeTransport>['transport'], settings: Partial<DeliverySettings> = {}, random = () => 0.5): DeliveryWorker {
  return new DeliveryWorker({ pool, clock, logger, secrets: webhookSecretBox(key_material), transport, random, settings });
}

interface DeliveryRow {
  status: string;
  attempts: number;
  next_attempt_ms: number;
  lease_until_ms: number | null;
}

async function delivery(event_id: string): Promise<DeliveryRow> {
  const result = await pool.query<DeliveryRow>('SELECT status, attempts, next_attempt_ms, lease_until_ms FROM events.webhook_deliveries WHERE event_id = $1', [
    event_id,
  ]);
  const row = result.rows[0];
  if (!row) throw new Error(`no webhook delivery for ${event_id}`);
  return row;
}

describe('the delivery worker', () => {
  it('retries on the default schedule: first within 10 s, growing to hourly, given up after 3 days', async () => {
    const { id: endpoint_id } = await endpoint(['customer.created']);
    const event_id = await emit('customer.created');
    await enqueue();
    const { requests, transport } = fakeTransport(() => ({ status: 500, error: null, excerpt: 'boom' }));
    const w = worker(transport, {}, Math.random);
    const started_ms = clock.now_ms();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      await w.drain();
      times.push(clock.now_ms());
      const row = await delivery(event_id);
      if (row.status !== 'pending') break;
      clock.advance(row.next_attempt_ms - clock.now_ms());
    }
    const row = await delivery(event_id);
    expect(row.status).toBe('failed');
    expect(requests).toHaveLength(times.length);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(6_000);
    expect(gaps[0]).toBeLessThanOrEqual(10_000);
    for (let i = 1; i < 6; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!); // growing (×3, jitter ≤ 25 %)
    const hourly = gaps.slice(7);
    expect(hourly.length).toBeGreaterThan(60);
    expect(Math.min(...hourly)).toBeGreaterThanOrEqual(45 * 60_000);
    expect(Math.max(...hourly)).toBeLessThanOrEqual(60 * 60_000);
    const last = times[times.length - 1]! - started_ms;
    expect(last).toBeLessThanOrEqual(3 * 24 * 3_600_000);
    expect(last).toBeGreaterThan(3 * 24 * 3_600_000 - 60 * 60_000);
    expect(requests.length).toBeLessThanOrEqual(DEFAULT_RETRY_SCHEDULE.attempts_max);
    expect((await eventAttempts(pool, event_id)).map((a) => a.http_status)).toEqual(requests.map(() => 500));
    expect((await failedDeliveries(pool, { limit: 10, retrying: false })).map((d) => [d.event_id, d.endpoint_id, d.status])).toContainEqual([
      event_id,
      endpoint_id,
      'failed',
    ]);
  });

  it('caps the attempts, and a resend starts a fresh round that keeps the history', async () => {
    const { id: endpoint_id } = await endpoint(['charge.succeeded']);
    const event_id = await emit('charge.succeeded');
    await enqueue();
    let healthy = false;
    const { requests, transport } = fakeTransport(() =>
      healthy ? { status: 204, error: null, excerpt: null } : { status: null, error: 'timeout', excerpt: null },
    );
    const w = worker(transport, { schedule: { ...DEFAULT_RETRY_SCHEDULE, attempts_max: 3 } });
    for (let i = 0; i < 5; i++) {
      await w.drain();
      clock.advance(2 * 60 * 60_000);
    }
    expect(requests).toHaveLength(3);
    expect(await delivery(event_id)).toMatchObject({ status: 'failed', attempts: 3 });

    healthy = true;
    expect(await resendEvent(pool, event_id, undefined, clock.now_ms())).toEqual({
      merchant_id: merchant,
      event_type: 'charge.succeeded',
      endpoints: [endpoint_id],
    });
    await w.drain();
    expect(await delivery(event_id)).toMatchObject({ status: 'succeeded', attempts: 4 });
    expect((await eventAttempts(pool, event_id)).map((a) => [a.attempt, a.http_status, a.error])).toEqual([
      [1, null, 'timeout'],
      [2, null, 'timeout'],
      [3, null, 'timeout'],
      [4, 204, null],
    ]);
    // A resend to one endpoint explicitly, even after success.
    expect((await resendEvent(pool, event_id, endpoint_id, clock.now_ms())).endpoints).toEqual([endpoint_id]);
    await w.drain();
    expect(requests).toHaveLength(5);
    await expect(resendEvent(pool, 'evt_missing', undefined, clock.now_ms())).rejects.toThrow(/No event evt_missing/);
  });

  it('signs like Stripe: the official SDK verifies every request', async () => {
    const { secret } = await endpoint(['customer.created']);
    await emit('customer.created');
    await enqueue();
    const { requests, transport } = fakeTransport();
    await worker(transport).drain();
    expect(requests).toHaveLength(1);
    const verifier = new Stripe('sk_test_unused', { apiVersion: '2023-08-16' });
    const request = requests[0]!;
    const header = request.headers['stripe-signature']!;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The request is signed at the injected clock's time.
    const event = verifier.webhooks.constructEvent(request.body, header, secret, 300, undefined, clock.now_ms());
    expect(event.type).toBe('customer.created');
    expect(() => verifier.webhooks.constructEvent(`${request.body} `, header, secret, 300, undefined, clock.now_ms())).toThrow();
  });

  it('holds at most per_endpoint_concurrency requests to a hung endpoint while others get everything', async () => {
    const slow = await endpoint(['*']);
    const fast = await endpoint(['*']);
    for (let i = 0; i < 12; i++) await emit('payment_intent.created');
    await enqueue();
    const hung: Array<() => void> = [];
    const { requests, transport } = fakeTransport((request) =>
      request.url.endsWith(slow.id)
        ? new Promise((resolve) => hung.push(() => resolve({ status: 200, error: null, excerpt: null })))
        : { status: 200, error: null, excerpt: null },
    );
    const w = worker(transport, { per_endpoint_concurrency: 3, concurrency_max: 10 });
    for (let i = 0; i < 20; i++) {
      await w.step();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(requests.filter((r) => r.endpoint === fast.id)).toHaveLength(12);
    expect(requests.filter((r) => r.endpoint === slow.id)).toHaveLength(3);
    expect(w.in_flight_count).toBe(3);
    // A second worker (another process) respects the same cap: the leases are in the database.
    const other = fakeTransport();
    await worker(other.transport, { per_endpoint_concurrency: 3 }).step();
    expect(other.requests).toEqual([]);
    while (hung.length > 0) {
      hung.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await w.step();
    }
    await w.drain();
    expect(requests.filter((r) => r.endpoint === slow.id)).toHaveLength(12);
  });

  it('sends an object’s events in order, one at a time; a failing one does not hold later ones past its attempt', async () => {
    await endpoint(['*']);
    const object = 'pi_ordered';
    const first = await emit('payment_intent.created', object);
    const second = await emit('payment_intent.succeeded', object);
    const other = await emit('payment_intent.created', 'pi_other');
    await enqueue();
    const claimer = worker(fakeTransport().transport);
    const claimed = await claimer.claim(10);
    expect(claimed.map((c) => c.event_id).sort()).toEqual([first, other].sort());
    // While the first is in flight, the second waits.
    expect(await claimer.claim(10)).toEqual([]);
    // The first fails: it is rescheduled, and the second may go now.
    const failing = worker(fakeTransport(() => ({ status: 500, error: null, excerpt: null })).transport);
    for (const c of claimed) await failing.attempt(c);
    expect((await claimer.claim(10)).map((c) => c.event_id)).toEqual([second]);
  });

  it('takes a delivery back from a worker that died mid-request once its lease runs out', async () => {
    await endpoint(['customer.created']);
    const event_id = await emit('customer.created');
    await enqueue();
    const w = worker(fakeTransport().transport, { timeout_ms: 2_000 });
    const [claimed] = await w.claim(5);
    expect(claimed?.event_id).toBe(event_id);
    // The claimer "dies" here: no attempt, no completion.
    expect(await w.claim(5)).toEqual([]);
    clock.advance(2_000 + 5_000 + 1);
    const { requests, transport } = fakeTransport();
    await worker(transport).drain();
    expect(requests.map((r) => r.event.id)).toEqual([event_id]);
    expect(await delivery(event_id)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('enqueues only for endpoints that existed when the event happened and want its type', async () => {
    const star = await endpoint(['*']);
    const refunds = await endpoint(['refund.created']);
    const later = await endpoint(['*'], Math.floor(clock.now_ms() / 1000) + 3_600);
    await pool.query(`UPDATE events.webhook_endpoints SET status = 'disabled' WHERE id = $1`, [refunds.id]);
    const disabled_refunds = refunds.id;
    const refund_event = await emit('refund.created');
    const intent_event = await emit('payment_intent.created');
    await enqueue();
    const rows = await pool.query<{ event_id: string; endpoint_id: string }>(
      'SELECT event_id, endpoint_id FROM events.webhook_deliveries WHERE merchant_id = $1 ORDER BY id',
      [merchant],
    );
    expect(rows.rows).toEqual([
      { event_id: refund_event, endpoint_id: star.id },
      { event_id: intent_event, endpoint_id: star.id },
    ]);
    expect(rows.rows.some((r) => r.endpoint_id === later.id || r.endpoint_id === disabled_refunds)).toBe(false);
  });
});

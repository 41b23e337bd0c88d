import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { numbered } from '../../src/platform/db.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import { OutboxConsumerRunner } from '../../src/services/events/app/consumer-runner.js';
import { webhookConsumer } from '../../src/services/events/webhooks/consumer.js';
import { newWebhookSecret, sealSecret, webhookSecretKey } from '../../src/services/events/webhooks/secrets.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The webhooks consumer passes over events no endpoint takes: no data read, no inbox row, no
 * delivery, yet its offset moves past them; an endpoint committed before an event gets that event.
 */

let pool: Pool;
let drop: () => Promise<void>;
const clock = new ManualClock(Date.UTC(2032, 0, 1));
const ids = new UlidGenerator(clock);
const key = webhookSecretKey(randomBytes(32));
let merchant = '';

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(6));
});
afterAll(async () => {
  await drop();
});
beforeEach(() => {
  merchant = `acct_${randomBytes(6).toString('hex')}`;
  clock.advance(60_000);
});

const now_s = () => Math.floor(clock.now_ms() / 1000);

async function endpoint(enabled_events: string[], options: { created?: number; status?: 'enabled' | 'disabled'; merchant_id?: string } = {}): Promise<string> {
  const id = ids.next('webhook_endpoint');
  await pool.query(
    `INSERT INTO events.webhook_endpoints (merchant_id, id, created, url, enabled_events, status, secret_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      options.merchant_id ?? merchant,
      id,
      options.created ?? now_s(),
      `https://hooks.test/${id}`,
      enabled_events,
      options.status ?? 'enabled',
      sealSecret(newWebhookSecret(), id, key),
    ],
  );
  return id;
}

async function emit(type: string, merchant_id = merchant): Promise<string> {
  const fragment = outboxInsert(ids, merchant_id, now_s(), { id: null, idempotency_key: null }, [
    { type, object: { id: `pi_${randomBytes(4).toString('hex')}` } },
  ]);
  const result = await pool.query<{ id: string }>({ text: `${numbered(fragment)} RETURNING id`, values: fragment.values as unknown[] });
  return result.rows[0]!.id;
}

/** Rounds until the offset is past every committed event (an open transaction elsewhere may hold the horizon back a moment). */
async function enqueue(): Promise<void> {
  const runner = new OutboxConsumerRunner(pool, webhookConsumer(clock));
  for (let i = 0; i < 1_000; i++) {
    if ((await runner.runOnce()).kind !== 'caught_up') continue;
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

async function inboxOf(event_ids: string[]): Promise<string[]> {
  const result = await pool.query<{ event_id: string }>(
    `SELECT event_id FROM events.consumer_inbox WHERE consumer = 'webhooks' AND event_id = ANY($1) ORDER BY event_id`,
    [event_ids],
  );
  return result.rows.map((row) => row.event_id);
}

async function deliveries(merchant_id = merchant): Promise<Array<[string, string]>> {
  const result = await pool.query<{ event_id: string; endpoint_id: string }>(
    'SELECT event_id, endpoint_id FROM events.webhook_deliveries WHERE merchant_id = $1 ORDER BY id',
    [merchant_id],
  );
  return result.rows.map((row) => [row.event_id, row.endpoint_id]);
}

async function pendingWebhooks(event_id: string, merchant_id = merchant): Promise<number> {
  const result = await pool.query<{ n: number }>(
    'SELECT events.pending_webhooks(merchant_id, id, type, created) AS n FROM events.outbox WHERE merchant_id = $1 AND id = $2',
    [merchant_id, event_id],
  );
  return result.rows[0]!.n;
}

describe('the webhooks consumer', () => {
  it('writes nothing for an event no endpoint takes, and its offset passes it', async () => {
    await endpoint(['refund.created']);
    await endpoint(['*'], { status: 'disabled' });
    await endpoint(['*'], { merchant_id: `acct_${randomBytes(6).toString('hex')}` });
    const skipped = await emit('payment_intent.succeeded');
    expect(await unconsumed()).toBeGreaterThan(0);
    await enqueue();
    expect(await unconsumed()).toBe(0);
    expect(await inboxOf([skipped])).toEqual([]);
    expect(await deliveries()).toEqual([]);
    expect(await pendingWebhooks(skipped)).toBe(0);
    // An endpoint enabled after the consumer passed the event does not make it look pending.
    await pool.query(`UPDATE events.webhook_endpoints SET status = 'enabled' WHERE merchant_id = $1`, [merchant]);
    expect(await pendingWebhooks(skipped)).toBe(0);
  });

  it('delivers the next event to an endpoint created right after a skipped one, in the same round', async () => {
    const before = await emit('customer.created');
    clock.advance(1_000);
    const created = await endpoint(['customer.created']);
    const next = await emit('customer.created');
    await enqueue();
    expect(await deliveries()).toEqual([[next, created]]);
    expect(await inboxOf([before, next])).toEqual([next]);
    expect(await pendingWebhooks(next)).toBe(1);
    expect(await pendingWebhooks(before)).toBe(0);
  });

  it('delivers the next event to an endpoint created after the consumer passed the one before', async () => {
    const before = await emit('charge.succeeded');
    await enqueue();
    const created = await endpoint(['charge.succeeded']);
    expect(await pendingWebhooks(before)).toBe(0);
    const next = await emit('charge.succeeded');
    expect(await pendingWebhooks(next)).toBe(1);
    await enqueue();
    expect(await deliveries()).toEqual([[next, created]]);
  });

  it("gives an endpoint enabled for '*' every event, in outbox order, among events it skips for others", async () => {
    const star = await endpoint(['*']);
    const other = `acct_${randomBytes(6).toString('hex')}`;
    const types = ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'customer.created', 'refund.created'];
    const mine: string[] = [];
    const skipped: string[] = [];
    for (const type of types) {
      mine.push(await emit(type));
      skipped.push(await emit(type, other));
    }
    await enqueue();
    expect(await deliveries()).toEqual(mine.map((event_id) => [event_id, star]));
    expect(await deliveries(other)).toEqual([]);
    expect(await inboxOf([...mine, ...skipped])).toEqual([...mine].sort());
  });
});

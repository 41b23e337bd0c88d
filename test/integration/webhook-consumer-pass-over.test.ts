import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { numbered } from '../../src/platform/db.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import type { RoundResult } from '../../src/services/events/app/consumer-runner.js';
import { OutboxConsumerRunner } from '../../src/services/events/app/consumer-runner.js';
import { webhookConsumer } from '../../src/services/events/webhooks/consumer.js';
import { newWebhookSecret, sealSecret, webhookSecretKey } from '../../src/services/events/webhooks/secrets.js';
import { createMigratedPool } from '../support/database.js';

/**
 * While no webhook endpoint is enabled, the webhooks consumer's rounds read no event: each moves the
 * offset past everything committed, writing no inbox row and no delivery. Once an endpoint is
 * enabled, rounds read events again and it gets those that happen after it was created.
 * A database of its own: any enabled endpoint, of any merchant, turns passing over off.
 */

let pool: Pool;
let drop: () => Promise<void>;
const clock = new ManualClock(Date.UTC(2032, 0, 1));
const ids = new UlidGenerator(clock);
const key = webhookSecretKey(randomBytes(32));
const merchants = [`acct_${randomBytes(6).toString('hex')}`, `acct_${randomBytes(6).toString('hex')}`];

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(4));
});
afterAll(async () => {
  await drop();
});

const now_s = () => Math.floor(clock.now_ms() / 1000);

async function endpoint(merchant_id: string, status: 'enabled' | 'disabled'): Promise<string> {
  const id = ids.next('webhook_endpoint');
  await pool.query(
    `INSERT INTO events.webhook_endpoints (merchant_id, id, created, url, enabled_events, status, secret_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [merchant_id, id, now_s(), `https://hooks.test/${id}`, ['*'], status, sealSecret(newWebhookSecret(), id, key)],
  );
  return id;
}

async function emit(merchant_id: string, type: string): Promise<string> {
  const fragment = outboxInsert(ids, merchant_id, now_s(), { id: null, idempotency_key: null }, [
    { type, object: { id: `pi_${randomBytes(4).toString('hex')}` } },
  ]);
  const result = await pool.query<{ id: string }>({ text: `${numbered(fragment)} RETURNING id`, values: fragment.values as unknown[] });
  return result.rows[0]!.id;
}

async function unconsumed(): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events.outbox e JOIN events.consumer_offsets o ON o.consumer = 'webhooks' WHERE (e.xid, e.seq) > (o.xid, o.seq)`,
  );
  return result.rows[0]!.n;
}

/** Rounds until every committed event is behind the offset (an open transaction elsewhere holds the horizon back a moment); their kinds. */
async function catchUp(runner: OutboxConsumerRunner): Promise<Array<RoundResult['kind']>> {
  const kinds: Array<RoundResult['kind']> = [];
  for (let i = 0; i < 1_000; i++) {
    const round = await runner.runOnce();
    kinds.push(round.kind);
    if (round.kind !== 'caught_up') continue;
    if ((await unconsumed()) === 0) return kinds;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the webhooks consumer did not catch up with the outbox');
}

async function inboxCount(): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events.consumer_inbox WHERE consumer = 'webhooks'`);
  return result.rows[0]!.n;
}

async function deliveries(): Promise<Array<[string, string]>> {
  const result = await pool.query<{ event_id: string; endpoint_id: string }>('SELECT event_id, endpoint_id FROM events.webhook_deliveries ORDER BY id');
  return result.rows.map((row) => [row.event_id, row.endpoint_id]);
}

describe('the webhooks consumer with no endpoint enabled', () => {
  it('passes over every committed event unread, then reads again once an endpoint is enabled', async () => {
    const runner = new OutboxConsumerRunner(pool, webhookConsumer(clock));
    await endpoint(merchants[0]!, 'disabled');
    const passed = [
      await emit(merchants[0]!, 'payment_intent.succeeded'),
      await emit(merchants[1]!, 'charge.succeeded'),
      await emit(merchants[0]!, 'customer.created'),
    ];
    expect(await unconsumed()).toBe(passed.length);

    const kinds = await catchUp(runner);
    expect(kinds).toContain('passed_over');
    expect(kinds).not.toContain('applied');
    expect(await inboxCount()).toBe(0);
    expect(await deliveries()).toEqual([]);

    clock.advance(1_000);
    const enabled = await endpoint(merchants[1]!, 'enabled');
    const next = await emit(merchants[1]!, 'charge.succeeded');
    await emit(merchants[0]!, 'charge.succeeded');
    const after = await catchUp(runner);
    expect(after).toContain('applied');
    expect(after).not.toContain('passed_over');
    expect(await deliveries()).toEqual([[next, enabled]]);
    expect(await inboxCount()).toBe(1);
  });
});

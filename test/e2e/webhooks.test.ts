import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';
import { deleteStream } from '../../src/services/events/adapters/nats/jetstream.js';

/**
 * Webhook endpoints and signed delivery, end to end: the official SDK manages endpoints, local
 * receivers verify every request with `stripe.webhooks.constructEvent`. Retries run on a fast
 * schedule here (the real one is proven on an injected clock in test/integration/webhook-delivery).
 * Runs on whichever event binding the environment selects (NATS JetStream when NATS_URL is set).
 */

let t: TestPlatform;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await startTestPlatform(
    {},
    {
      events: {
        delivery: {
          // 100 attempts at most 400 ms apart: a failing delivery keeps retrying for about 40 s, longer than
          // the CLI test takes to list it as retrying and then as not given up.
          schedule: { first_retry_ms: 100, multiplier: 2, max_interval_ms: 400, give_up_after_ms: 60_000, attempts_max: 100, jitter: 0 },
          timeout_ms: 1_000,
          per_endpoint_concurrency: 4,
        },
      },
    },
  );
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  const nats = t?.platform.events.nats;
  await t?.stop();
  if (nats) await deleteStream(nats.settings);
});

async function receiver(behave?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(behave);
  receivers.push(r);
  return r;
}

/** An endpoint pointing at `r`, its secret given to `r` so the receiver can verify. */
async function endpointFor(
  r: Receiver,
  enabled_events: Stripe.WebhookEndpointCreateParams.EnabledEvent[] = ['*'],
  stripe = t.stripe,
): Promise<Stripe.WebhookEndpoint> {
  const endpoint = await stripe.webhookEndpoints.create({ url: r.url, enabled_events });
  expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
  r.secret = endpoint.secret!;
  return endpoint;
}

async function pay(amount = 2000, stripe = t.stripe): Promise<Stripe.PaymentIntent> {
  return stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
}

async function eventsOf(object_ids: readonly string[]): Promise<Stripe.Event[]> {
  const all = await t.stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  return all.filter((event) => object_ids.includes((event.data.object as { id: string }).id)).reverse();
}

interface AttemptRow {
  attempt: number;
  http_status: number | null;
  error: string | null;
  latency_ms: number;
  response_excerpt: string | null;
}

async function attemptsOf(event_id: string, endpoint_id: string): Promise<AttemptRow[]> {
  const result = await t.platform.database.pool.query<AttemptRow>(
    'SELECT attempt, http_status, error, latency_ms, response_excerpt FROM events.webhook_attempts WHERE event_id = $1 AND endpoint_id = $2 ORDER BY attempt',
    [event_id, endpoint_id],
  );
  return result.rows;
}

describe('/v1/webhook_endpoints', () => {
  it('runs on the event binding the environment selects', () => {
    expect(t.platform.events.binding).toBe(process.env.NATS_URL ? 'nats' : 'embedded');
  });

  it('creates (secret shown once), retrieves, updates, lists and deletes, in Stripe’s shapes', async () => {
    const created = await t.stripe.webhookEndpoints.create({
      url: 'https://example.com/hooks',
      enabled_events: ['payment_intent.succeeded', 'charge.refunded'],
      description: 'orders',
      metadata: { team: 'payments' },
    });
    expect(created.object).toBe('webhook_endpoint');
    expect(created.status).toBe('enabled');
    expect(created.secret).toMatch(/^whsec_/);
    expect(stripeSchemaProblems('webhook_endpoint', created)).toEqual([]);

    const retrieved = await t.stripe.webhookEndpoints.retrieve(created.id);
    expect(retrieved.secret).toBeUndefined();
    expect(retrieved).toEqual({ ...created, secret: undefined });
    expect(stripeSchemaProblems('webhook_endpoint', retrieved)).toEqual([]);

    const updated = await t.stripe.webhookEndpoints.update(created.id, {
      url: 'https://example.com/v2/hooks',
      enabled_events: ['*'],
      disabled: true,
      description: '',
      metadata: { team: '', owner: 'ops' },
    });
    expect(updated).toMatchObject({
      url: 'https://example.com/v2/hooks',
      enabled_events: ['*'],
      status: 'disabled',
      description: null,
      metadata: { owner: 'ops' },
    });
    expect(updated.secret).toBeUndefined();
    expect((await t.stripe.webhookEndpoints.update(created.id, { disabled: false })).status).toBe('enabled');

    const second = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/other', enabled_events: ['customer.created'] });
    const listed = await t.stripe.webhookEndpoints.list({ limit: 1 });
    expect(listed.has_more).toBe(true);
    expect(listed.data.map((e) => e.id)).toEqual([second.id]);
    const all = await t.stripe.webhookEndpoints.list().autoPagingToArray({ limit: 100 });
    expect(all.map((e) => e.id)).toEqual(expect.arrayContaining([created.id, second.id]));
    expect(all.every((e) => e.secret === undefined)).toBe(true);

    const deleted = await t.stripe.webhookEndpoints.del(created.id);
    expect(deleted).toEqual({ id: created.id, object: 'webhook_endpoint', deleted: true });
    expect(stripeSchemaProblems('deleted_webhook_endpoint', deleted)).toEqual([]);
    const missing = await t.stripe.webhookEndpoints.retrieve(created.id).catch((e: Stripe.errors.StripeError) => e);
    expect((missing as Stripe.errors.StripeError).statusCode).toBe(404);
    await t.stripe.webhookEndpoints.del(second.id);
  });

  it('rejects event types Stripe does not have, bad URLs, and endpoints of another merchant', async () => {
    const bad_type = await t.stripe.webhookEndpoints
      .create({ url: 'https://example.com/x', enabled_events: ['payment_intent.succeeded', 'invoice.bogus' as 'invoice.paid'] })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(bad_type).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'enabled_events[1]' });
    const star_and_more = await t.stripe.webhookEndpoints
      .create({ url: 'https://example.com/x', enabled_events: ['*', 'charge.succeeded'] })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(star_and_more).toMatchObject({ statusCode: 400, param: 'enabled_events' });
    const bad_url = await t.stripe.webhookEndpoints.create({ url: 'ftp://example.com/x', enabled_events: ['*'] }).catch((e: Stripe.errors.StripeError) => e);
    expect(bad_url).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'url' });
    const no_events = await t.stripe.webhookEndpoints
      .create({ url: 'https://example.com/x' } as Stripe.WebhookEndpointCreateParams)
      .catch((e: Stripe.errors.StripeError) => e);
    expect(no_events).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'enabled_events' });

    const mine = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/mine', enabled_events: ['*'] });
    const other = await t.newMerchant();
    const hidden = await other.stripe.webhookEndpoints.retrieve(mine.id).catch((e: Stripe.errors.StripeError) => e);
    expect((hidden as Stripe.errors.StripeError).statusCode).toBe(404);
    expect((await other.stripe.webhookEndpoints.list()).data).toEqual([]);
    await t.stripe.webhookEndpoints.del(mine.id);
  });

  it('refuses any expand[] path, since an endpoint has nothing to expand, creating nothing', async () => {
    const before = (await t.stripe.webhookEndpoints.list({ limit: 100 })).data.length;
    const unexpandable = { statusCode: 400, code: 'parameter_invalid', param: 'expand', message: 'This property cannot be expanded (secret).' };
    const created = await t.stripe.webhookEndpoints
      .create({ url: 'https://example.com/expand', enabled_events: ['*'], expand: ['secret'] })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(created).toMatchObject(unexpandable);
    expect((await t.stripe.webhookEndpoints.list({ limit: 100 })).data).toHaveLength(before);
    const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/expand', enabled_events: ['*'] });
    const retrieved = await t.stripe.webhookEndpoints.retrieve(endpoint.id, { expand: ['secret'] }).catch((e: Stripe.errors.StripeError) => e);
    expect(retrieved).toMatchObject(unexpandable);
    const updated = await t.stripe.webhookEndpoints
      .update(endpoint.id, { description: 'changed', expand: ['secret'] })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(updated).toMatchObject(unexpandable);
    expect((await t.stripe.webhookEndpoints.retrieve(endpoint.id)).description).toBeNull();
    const listed = await t.stripe.webhookEndpoints.list({ expand: ['data.secret'] }).catch((e: Stripe.errors.StripeError) => e);
    expect(listed).toMatchObject({ statusCode: 400, param: 'expand' });
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });
});

describe('signed delivery', () => {
  it('POSTs each event, signed so the SDK verifies it, with the body of GET /v1/events/:id', async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r);
    const intent = await pay();
    const events = await eventsOf([intent.id, intent.latest_charge as string]);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
    await waitFor('three deliveries', () => r.delivered().length >= 3);
    expect(r.rejected).toEqual([]);
    const by_id = new Map(r.delivered().map((event) => [event.id, event]));
    for (const event of events) {
      const delivered = by_id.get(event.id);
      expect(delivered, event.type).toBeDefined();
      // Sent while its own delivery was pending; 0 once delivered.
      expect(delivered!.pending_webhooks).toBe(1);
      expect({ ...delivered, pending_webhooks: 0 }).toEqual(await t.stripe.events.retrieve(event.id));
      expect(stripeSchemaProblems('event', delivered)).toEqual([]);
    }
    await waitFor('pending_webhooks at 0', async () => (await t.stripe.events.retrieve(events[2]!.id)).pending_webhooks === 0);
    const attempts = await attemptsOf(events[0]!.id, endpoint.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, http_status: 200, error: null });
    expect(attempts[0]!.response_excerpt).toContain('"received":true');
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  it('sends only enabled event types, and nothing to a disabled endpoint', async () => {
    const charges = await receiver();
    const off = await receiver();
    const charges_endpoint = await endpointFor(charges, ['charge.succeeded', 'refund.created']);
    const off_endpoint = await endpointFor(off);
    await t.stripe.webhookEndpoints.update(off_endpoint.id, { disabled: true });
    const intent = await pay(3000);
    await t.stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    await waitFor('charge and refund events', () => charges.delivered().length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(charges.delivered().map((e) => e.type)).toEqual(['charge.succeeded', 'refund.created']);
    expect(off.received).toEqual([]);
    await t.stripe.webhookEndpoints.del(charges_endpoint.id);
    await t.stripe.webhookEndpoints.del(off_endpoint.id);
  });

  it('retries a receiver that fails the first times, and records every attempt', async () => {
    const r = await receiver((_event, attempt) => (attempt <= 2 ? 503 : 200));
    const endpoint = await endpointFor(r, ['customer.created']);
    const customer = await t.stripe.customers.create({ email: 'retry@example.com' });
    const [event] = await eventsOf([customer.id]);
    await waitFor('delivery on the third attempt', () => r.delivered().some((e) => e.id === event!.id), 10_000);
    expect(r.received.filter((x) => x.event.id === event!.id).map((x) => x.status)).toEqual([503, 503, 200]);
    // The receiver answers before the worker records the attempt: wait for the record.
    await waitFor('the third attempt recorded', async () => (await attemptsOf(event!.id, endpoint.id)).length === 3);
    const attempts = await attemptsOf(event!.id, endpoint.id);
    expect(attempts.map((a) => [a.attempt, a.http_status, a.error])).toEqual([
      [1, 503, 'http_503'],
      [2, 503, 'http_503'],
      [3, 200, null],
    ]);
    expect(attempts.every((a) => a.latency_ms >= 0 && a.latency_ms < 1_000)).toBe(true);
    // Retried on the schedule: about 100 ms, then 200 ms (no jitter here).
    const times = r.received.filter((x) => x.event.id === event!.id).map((x) => x.at_ms);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(90);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(190);
    await waitFor('pending_webhooks at 0', async () => (await t.stripe.events.retrieve(event!.id)).pending_webhooks === 0);
    // Nothing more after the success: one 2xx per event and endpoint.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.received.filter((x) => x.event.id === event!.id)).toHaveLength(3);
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  it('keeps each object’s events in commit order and sends each event once to a healthy endpoint', async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r);
    const objects: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const intent = await t.stripe.paymentIntents.create({
          amount: 1000 + i,
          currency: 'usd',
          payment_method: 'pm_card_visa',
          capture_method: 'manual',
          confirm: true,
        });
        await t.stripe.paymentIntents.update(intent.id, { metadata: { step: 'a' } }).catch(() => undefined);
        await t.stripe.paymentIntents.capture(intent.id);
        await t.stripe.refunds.create({ payment_intent: intent.id, amount: 100 });
        objects.push(intent.id, intent.latest_charge as string);
      }),
    );
    const expected = await eventsOf(objects);
    const wanted = new Set(expected.map((e) => e.id));
    await waitFor(`${wanted.size} events`, () => r.delivered().filter((e) => wanted.has(e.id)).length >= wanted.size, 15_000);
    const delivered = r.delivered().filter((e) => wanted.has(e.id));
    expect(new Set(delivered.map((e) => e.id)).size).toBe(delivered.length);
    expect(r.received.filter((x) => wanted.has(x.event.id))).toHaveLength(wanted.size);
    for (const object of objects) {
      const of = (list: Stripe.Event[]) => list.filter((e) => (e.data.object as { id: string }).id === object).map((e) => `${e.type} ${e.id}`);
      expect(of(delivered), object).toEqual(of(expected));
    }
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  it('counts pending_webhooks down as each endpoint gets the event', async () => {
    const fast = await receiver();
    const gated = await receiver(() => 'hang');
    const fast_endpoint = await endpointFor(fast, ['customer.created']);
    const gated_endpoint = await endpointFor(gated, ['customer.created']);
    const customer = await t.stripe.customers.create({ email: 'pending@example.com' });
    const [event] = await eventsOf([customer.id]);
    expect(event!.pending_webhooks).toBe(2);
    await waitFor('fast delivery and the gated one in flight', () => fast.delivered().length === 1 && gated.received.length === 1);
    await waitFor('pending_webhooks 1', async () => (await t.stripe.events.retrieve(event!.id)).pending_webhooks === 1);
    gated.release();
    await waitFor('pending_webhooks 0', async () => (await t.stripe.events.retrieve(event!.id)).pending_webhooks === 0);
    await t.stripe.webhookEndpoints.del(fast_endpoint.id);
    await t.stripe.webhookEndpoints.del(gated_endpoint.id);
  });

  it('records a refused connection and retries it; deleting the endpoint cancels what it had pending', async () => {
    const closed = await receiver();
    const url = closed.url;
    await closed.close();
    const endpoint = await t.stripe.webhookEndpoints.create({ url, enabled_events: ['customer.created'] });
    const customer = await t.stripe.customers.create({ email: 'refused@example.com' });
    const [event] = await eventsOf([customer.id]);
    await waitFor('two refused attempts', async () => (await attemptsOf(event!.id, endpoint.id)).length >= 2);
    const attempts = await attemptsOf(event!.id, endpoint.id);
    expect(attempts[0]).toMatchObject({ http_status: null, error: 'connection_refused', response_excerpt: null });
    expect((await t.stripe.events.retrieve(event!.id)).pending_webhooks).toBe(1);
    await t.stripe.webhookEndpoints.del(endpoint.id);
    expect((await t.stripe.events.retrieve(event!.id)).pending_webhooks).toBe(0);
    const status = await t.platform.database.pool.query('SELECT status FROM events.webhook_deliveries WHERE event_id = $1', [event!.id]);
    expect(status.rows).toEqual([{ status: 'canceled' }]);
  });
});

describe('the CLI', () => {
  const cli = async (...args: string[]) => {
    const { DATABASE_URL: _unused, ...env } = process.env;
    return promisify(execFile)(process.execPath, ['dist/cli.js', 'events', ...args], {
      env: { ...env, DATABASE_URL: t.config.database_url, PAYRAIL_DATA_DIR: t.config.data_dir, LOG_LEVEL: 'warn' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  };

  it('lists failing deliveries, shows attempts, and resends an event', async () => {
    let healthy = false;
    const r = await receiver(() => (healthy ? 200 : 500));
    const endpoint = await endpointFor(r, ['customer.updated']);
    const customer = await t.stripe.customers.create({ email: 'cli@example.com' });
    await t.stripe.customers.update(customer.id, { name: 'CLI' });
    const [event] = (await eventsOf([customer.id])).filter((e) => e.type === 'customer.updated');
    await waitFor('a failed attempt', async () => (await attemptsOf(event!.id, endpoint.id)).length >= 1);

    const failing = await cli('failed', '--retrying', '--limit', '10');
    expect(failing.code, failing.stderr).toBe(0);
    expect(failing.stdout.split('\n')[0]).toBe('delivery\tevent\ttype\tendpoint\tstatus\tattempts\tlast\tlast_attempt\tnext_attempt');
    expect(failing.stdout).toContain(`${event!.id}\tcustomer.updated\t${endpoint.id}\tpending`);
    const given_up = await cli('failed');
    expect(given_up.stdout, given_up.stdout).not.toContain(event!.id);

    const attempts = await cli('attempts', event!.id);
    expect(attempts.stdout).toMatch(new RegExp(`${endpoint.id}\\t1\\t\\S+\\t\\d+\\t500\\thttp_500`));

    healthy = true;
    await waitFor('the retry to succeed', () => r.delivered().some((e) => e.id === event!.id), 10_000);
    const resent = await cli('resend', event!.id, '--endpoint', endpoint.id);
    expect(resent).toMatchObject({ code: 0, stdout: `Queued ${event!.id} (customer.updated) for ${endpoint.id}.\n` });
    await waitFor('the resent delivery', () => r.delivered().filter((e) => e.id === event!.id).length === 2);
    const unknown = await cli('resend', 'evt_nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No event evt_nope');
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });
});

describe('a dead endpoint', () => {
  it('does not slow the payments API, nor delay other endpoints', async () => {
    const timings = async (n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        await pay(1500 + i);
        ms.push(performance.now() - started);
      }
      return ms.sort((a, b) => a - b);
    };
    const before = await timings(15);
    const dead = await receiver(() => 'hang');
    const healthy = await receiver();
    const dead_endpoint = await endpointFor(dead);
    const healthy_endpoint = await endpointFor(healthy);
    const during = await timings(30);
    // Each payment sends 3 events to each endpoint: the dead one is at its cap of 4 the whole time.
    await waitFor('the healthy endpoint to get all 90 events', () => healthy.delivered().length >= 90, 15_000);
    expect(dead.max_in_flight).toBeLessThanOrEqual(4);
    expect(dead.received.length).toBeGreaterThanOrEqual(4);
    const p50 = (ms: number[]) => ms[Math.floor(ms.length / 2)]!;
    const p90 = (ms: number[]) => ms[Math.floor(ms.length * 0.9)]!;
    // Relative to the same run, so other load on the machine cancels out.
    expect(p50(during)).toBeLessThan(p50(before) * 3 + 20);
    expect(p90(during)).toBeLessThan(p90(before) * 3 + 50);
    await t.stripe.webhookEndpoints.del(dead_endpoint.id);
    await t.stripe.webhookEndpoints.del(healthy_endpoint.id);
    dead.release();
  });
});

describe('the signing secret', () => {
  it('appears only in the create response: not in logs, events, errors, reads or any column', async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r, ['customer.created']);
    const secret = endpoint.secret!;
    const body = secret.slice('whsec_'.length);
    const customer = await t.stripe.customers.create({ email: 'secret@example.com' });
    await waitFor('a delivery', () => r.delivered().some((e) => (e.data.object as { id: string }).id === customer.id));
    const bad = await t.stripe.webhookEndpoints
      .update(endpoint.id, { enabled_events: ['nope.nope' as 'charge.succeeded'] })
      .catch((e: Stripe.errors.StripeError) => e);
    const texts = [
      JSON.stringify(await t.stripe.webhookEndpoints.retrieve(endpoint.id)),
      JSON.stringify(await t.stripe.webhookEndpoints.list()),
      JSON.stringify(await t.stripe.events.list({ limit: 100 })),
      JSON.stringify((bad as Stripe.errors.StripeError).raw),
      ...r.received.map((x) => x.raw),
      ...t.logs,
    ];
    expect(texts.filter((text) => text.includes(body))).toEqual([]);

    const pool = t.platform.database.pool;
    const columns = await pool.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(`
      SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c
      JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.data_type IN ('text', 'json', 'jsonb', 'bytea', 'ARRAY')`);
    const found: string[] = [];
    for (const { table_schema, table_name, column_name, data_type } of columns.rows) {
      const expression = data_type === 'bytea' ? `encode("${column_name}", 'escape')` : `"${column_name}"::text`;
      const rows = await pool.query<{ value: string | null }>(`SELECT ${expression} AS value FROM "${table_schema}"."${table_name}"`);
      if (rows.rows.some((row) => row.value?.includes(body))) found.push(`${table_schema}.${table_name}.${column_name}`);
    }
    expect(found).toEqual([]);
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });
});

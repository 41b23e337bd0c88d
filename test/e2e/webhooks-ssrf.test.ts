import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { loadConfig } from '../../src/platform/config.js';
import { startPlatform } from '../../src/compose.js';
import { rejection } from '../support/stripe-errors.js';
import { waitFor } from '../support/webhook-receiver.js';

/**
 * Webhooks cannot reach this machine or its private networks (SSRF), and cannot be used to learn
 * whether a private port answers. The platform runs as in production: PAYRAIL_WEBHOOKS_ALLOW_PRIVATE
 * off. Creation refuses addresses written in the URL, in every spelling the URL parser accepts;
 * delivery refuses, at connect time, names that resolve to loopback (`localhost`, from /etc/hosts: no
 * outside DNS here) and addresses already stored (an endpoint created before, or re-pointed by DNS).
 */

let t: TestPlatform;
/** A local HTTP server that would answer 200: it counts every TCP connection it gets. */
let listener: Server;
let connections = 0;
let open_port: number;
let closed_port: number;

beforeAll(async () => {
  t = await startTestPlatform(
    { webhooks_allow_private: false },
    {
      events: {
        delivery: {
          schedule: { first_retry_ms: 100, multiplier: 1, max_interval_ms: 100, give_up_after_ms: 60_000, attempts_max: 50, jitter: 0 },
          timeout_ms: 1_000,
        },
      },
    },
  );
  listener = createServer((_request, response) => response.writeHead(200).end('ok'));
  listener.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  open_port = (listener.address() as AddressInfo).port;
  // A port nothing listens on: bound, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closed_port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  listener?.closeAllConnections();
  await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
  await t?.stop();
});

/** Loopback, link-local (cloud metadata), unspecified, private, shared and reserved ranges, in the spellings an attacker tries. */
const PRIVATE_URLS = [
  'http://127.0.0.1/hook',
  'http://127.1/hook',
  'http://0x7f.1/hook',
  'http://0x7f000001/hook',
  'http://2130706433/hook',
  'http://017700000001/hook',
  'http://0177.0.0.1/hook',
  'http://127.000.000.001/hook',
  'http://127.0.0.1./hook',
  'http://%31%32%37.0.0.1/hook',
  'http://127.255.255.254:8080/hook',
  'http://merchant.example@127.0.0.1/hook',
  'https://127.0.0.1:443/hook',
  'http://[::1]/hook',
  'http://[0:0:0:0:0:0:0:1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:7f00:1]/hook',
  'http://[::127.0.0.1]/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fe80::1]/hook',
  'http://0.0.0.0/hook',
  'http://0/hook',
  'http://[::]/hook',
  'http://10.0.0.1/hook',
  'http://172.16.0.1/hook',
  'http://192.168.1.1/hook',
  'http://100.64.0.1/hook',
  'http://[fc00::1]/hook',
  'http://[64:ff9b::7f00:1]/hook',
  'http://224.0.0.1/hook',
  'http://255.255.255.255/hook',
  'http://localhost/hook',
  'http://LOCALHOST:4242/hook',
  'http://localhost./hook',
  'http://api.localhost/hook',
];

/** payrail_webhook_destinations_refused_total, from the platform's /metrics. */
async function refusedCount(): Promise<number> {
  const text = await (await fetch(t.platform.metrics_url!)).text();
  const line = text.split('\n').find((l) => l.startsWith('payrail_webhook_destinations_refused_total '));
  return Number(line?.split(' ')[1] ?? 0);
}

async function endpointCount(): Promise<number> {
  const result = await t.platform.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events.webhook_endpoints');
  return result.rows[0]!.n;
}

describe('creating or updating an endpoint', () => {
  it('refuses every private spelling with a 400 url_invalid, echoes nothing and stores nothing', async () => {
    const before = await endpointCount();
    for (const url of PRIVATE_URLS) {
      const error = await rejection(t.stripe.webhookEndpoints.create({ url, enabled_events: ['*'] }));
      expect({ status: error.statusCode, type: error.type, code: error.code, param: error.param }, url).toEqual({
        status: 400,
        type: 'StripeInvalidRequestError',
        code: 'url_invalid',
        param: 'url',
      });
      expect(error.message, url).toMatch(/^Invalid URL: webhook URLs must be publicly accessible/);
      expect(error.message, url).not.toContain(new URL(url).hostname);
    }
    expect(await endpointCount()).toBe(before);
  });

  it('refuses an update to a private address and keeps the public URL', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/payrail', enabled_events: ['customer.created'] });
    for (const url of ['http://169.254.169.254/', 'http://[::ffff:127.0.0.1]:8080/', 'http://0x7f.1/']) {
      const error = await rejection(t.stripe.webhookEndpoints.update(endpoint.id, { url }));
      expect({ status: error.statusCode, code: error.code, param: error.param }, url).toEqual({ status: 400, code: 'url_invalid', param: 'url' });
    }
    expect((await t.stripe.webhookEndpoints.retrieve(endpoint.id)).url).toBe('https://hooks.example.com/payrail');
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  it('accepts public hosts, by name or address, without resolving them', async () => {
    for (const url of ['https://hooks.example.com/stripe', 'http://93.184.216.34:8080/hook', 'https://[2606:4700:4700::1111]/hook']) {
      const endpoint = await t.stripe.webhookEndpoints.create({ url, enabled_events: ['charge.dispute.created'] });
      expect(endpoint.url).toBe(url);
      await t.stripe.webhookEndpoints.del(endpoint.id);
    }
  });
});

describe('live mode', () => {
  it('a live key creates and updates endpoints with https URLs only', async () => {
    const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
    const live = await createMerchant(store, Math.floor(Date.now() / 1000), { name: 'Live shop', livemode: true });
    expect(live.secret_key).toMatch(/^sk_live_/);
    const stripe = stripeClient(t.url, live.secret_key);
    const refused = await rejection(stripe.webhookEndpoints.create({ url: 'http://hooks.example.com/payrail', enabled_events: ['*'] }));
    expect({ status: refused.statusCode, code: refused.code, param: refused.param }).toEqual({ status: 400, code: 'url_invalid', param: 'url' });
    expect(refused.message).toMatch(/https in live mode/);
    const endpoint = await stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/payrail', enabled_events: ['*'] });
    const update = await rejection(stripe.webhookEndpoints.update(endpoint.id, { url: 'http://hooks.example.com/v2' }));
    expect(update.code).toBe('url_invalid');
    expect((await stripe.webhookEndpoints.retrieve(endpoint.id)).url).toBe('https://hooks.example.com/payrail');
    await stripe.webhookEndpoints.del(endpoint.id);
  });

  it('refuses to start with the development setting', async () => {
    const config = { ...loadConfig({}), mode: 'live' as const, webhooks_allow_private: true };
    await expect(startPlatform(config)).rejects.toThrow(/PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1 is for development: live mode refuses it/);
  });
});

describe('delivering', () => {
  it('refuses at connect time what resolves or points to loopback, the same whether the port answers or not', async () => {
    // Endpoints created with public URLs, then pointed at this machine the way DNS re-pointing or a
    // pre-upgrade row would: the URL in the database is what the worker dials.
    const targets = [
      `http://localhost:${open_port}/hook`,
      `http://localhost:${closed_port}/hook`,
      `http://0x7f.1:${open_port}/hook`,
      `http://2130706433:${open_port}/hook`,
      `http://[::ffff:127.0.0.1]:${open_port}/hook`,
      `http://[::1]:${open_port}/hook`,
      `http://0.0.0.0:${open_port}/hook`,
    ];
    const refused_before = await refusedCount();
    const endpoints: Stripe.WebhookEndpoint[] = [];
    for (const target of targets) {
      const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/payrail', enabled_events: ['customer.created'] });
      await t.platform.database.pool.query('UPDATE events.webhook_endpoints SET url = $1 WHERE id = $2', [target, endpoint.id]);
      endpoints.push(endpoint);
    }
    const customer = await t.stripe.customers.create({ email: 'ssrf@example.com' });
    const events = await t.stripe.events.list({ type: 'customer.created', limit: 10 });
    const event = events.data.find((e) => (e.data.object as { id: string }).id === customer.id)!;
    const attemptsOf = async (endpoint_id: string) =>
      (
        await t.platform.database.pool.query<{ http_status: number | null; error: string | null; response_excerpt: string | null }>(
          'SELECT http_status, error, response_excerpt FROM events.webhook_attempts WHERE event_id = $1 AND endpoint_id = $2 ORDER BY attempt',
          [event.id, endpoint_id],
        )
      ).rows;
    await waitFor('three attempts per endpoint', async () => {
      const counts = await Promise.all(endpoints.map(async (e) => (await attemptsOf(e.id)).length));
      return counts.every((n) => n >= 3);
    });
    for (const [index, endpoint] of endpoints.entries()) {
      const attempts = (await attemptsOf(endpoint.id)).slice(0, 3);
      expect(attempts, targets[index]).toEqual(Array(3).fill({ http_status: null, error: 'destination_not_allowed', response_excerpt: null }));
    }
    // Nothing reached the listener, and the API tells the open port from the closed one in no way.
    expect(connections).toBe(0);
    // Operators see it: every refused attempt is counted.
    expect((await refusedCount()) - refused_before).toBeGreaterThanOrEqual(3 * targets.length);
    expect((await t.stripe.events.retrieve(event.id)).pending_webhooks).toBe(targets.length);
    // The refusal's details (resolved address, host) reach no log line.
    expect(t.logs.join('\n')).not.toMatch(/DNS lookup|is not allowed/);
    for (const endpoint of endpoints) await t.stripe.webhookEndpoints.del(endpoint.id);
    expect((await t.stripe.events.retrieve(event.id)).pending_webhooks).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform, stripeClient } from '../support/platform.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';
import type { DashboardSession as Session } from '../support/dashboard-session.js';
import { signInToDashboard } from '../support/dashboard-session.js';

/**
 * The dashboard's Developers area against a started platform: restricted keys (secret shown once,
 * listed redacted, working within their permissions only), rolls with an overlap on the platform's
 * injected clock, the webhook delivery log and resend to a real receiver, the request log after its
 * batched flush, the audit log, and roles enforced at the API.
 */

const PASSWORD = 'correct horse battery staple';
let t: TestPlatform;
let clock: ManualClock;
let receiver: Receiver;
const sessions: Record<'owner' | 'developer' | 'analyst', Session> = {} as never;

interface Answer {
  status: number;
  body: Record<string, unknown> & { data?: Record<string, unknown>[]; error?: { code: string } };
  text: string;
}

async function call(session: Session, method: 'GET' | 'POST', path: string, body?: object): Promise<Answer> {
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      cookie: session.cookie,
      ...(method === 'POST' ? { 'x-csrf-token': session.csrf_token, 'content-type': 'application/json' } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Answer['body'], text };
}

function signIn(email: string): Promise<Session> {
  return signInToDashboard(t.url, email, PASSWORD);
}

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  t = await startTestPlatform(
    {},
    {
      clock,
      events: { delivery: { schedule: { first_retry_ms: 100, multiplier: 2, max_interval_ms: 400, give_up_after_ms: 60_000, attempts_max: 5, jitter: 0 } } },
    },
  );
  const merchant = await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1');
  const merchant_id = merchant.rows[0]?.id ?? '';
  for (const role of ['owner', 'developer', 'analyst'] as const) {
    await createDashboardUser(t.platform.database.pool, { merchant_id, email: `${role}@example.com`, password: PASSWORD, role });
    sessions[role] = await signIn(`${role}@example.com`);
  }
  receiver = await startReceiver();
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await t?.stop();
});

describe('API keys', () => {
  it('shows a restricted key once, lists it redacted, and it works only within its permissions', async () => {
    const created = await call(sessions.developer, 'POST', '/dashboard/api/developers/api_keys', { name: 'CRM sync', permissions: { customers: 'write' } });
    expect(created.status).toBe(200);
    const secret = created.body.secret as string;
    const key = created.body.key as { id: string; redacted: string; kind: string; restricted_permissions: unknown };
    expect(secret).toMatch(/^rk_test_[0-9A-Za-z]{32}$/);
    expect(key).toMatchObject({ kind: 'restricted', redacted: `rk_test_…${secret.slice(-4)}`, restricted_permissions: { customers: 'write' } });

    const listed = await call(sessions.developer, 'GET', '/dashboard/api/developers/api_keys');
    expect(listed.body.data?.find((row) => row.id === key.id)).toMatchObject({ name: 'CRM sync', redacted: key.redacted, status: 'active' });
    expect(listed.text).not.toContain(secret);
    expect(listed.text).not.toContain(TEST_SECRET_KEY);

    const restricted = stripeClient(t.url, secret);
    await expect(restricted.customers.create({ email: 'crm@example.com' })).resolves.toMatchObject({ email: 'crm@example.com' });
    await expect(restricted.paymentIntents.list()).rejects.toMatchObject({ statusCode: 403, code: 'permission_denied' });
  });

  it('rolls a key: the new one works at once, the old one until its expiry on the clock, then not', async () => {
    const created = await call(sessions.developer, 'POST', '/dashboard/api/developers/api_keys', { name: 'Reporting', permissions: { customers: 'read' } });
    const old_secret = created.body.secret as string;
    const old_id = (created.body.key as { id: string }).id;

    const rolled = await call(sessions.developer, 'POST', `/dashboard/api/developers/api_keys/${old_id}/roll`, { expires_in_s: 3600 });
    expect(rolled.status).toBe(200);
    const new_secret = rolled.body.secret as string;
    expect(new_secret).not.toBe(old_secret);
    expect(rolled.body.rolled).toMatchObject({ id: old_id, status: 'expiring', expires_at: Math.floor(clock.now_ms() / 1000) + 3600 });

    await expect(stripeClient(t.url, new_secret).customers.list()).resolves.toMatchObject({ object: 'list' });
    await expect(stripeClient(t.url, old_secret).customers.list()).resolves.toMatchObject({ object: 'list' });
    clock.advance(3601_000);
    await expect(stripeClient(t.url, old_secret).customers.list()).rejects.toMatchObject({ statusCode: 401, code: 'api_key_expired' });
    await expect(stripeClient(t.url, new_secret).customers.list()).resolves.toMatchObject({ object: 'list' });
  });

  it('refuses an analyst’s roll at the API, and nothing changes', async () => {
    const before = await call(sessions.analyst, 'GET', '/dashboard/api/developers/api_keys');
    expect(before.status).toBe(200);
    const target = before.body.data?.find((row) => row.status === 'active');
    expect(target).toBeDefined();

    const refused = await call(sessions.analyst, 'POST', `/dashboard/api/developers/api_keys/${String(target?.id)}/roll`, {});
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('dashboard_permission_denied');
    const created = await call(sessions.analyst, 'POST', '/dashboard/api/developers/api_keys', { name: 'sneaky', permissions: { charges: 'write' } });
    expect(created.status).toBe(403);

    const after = await call(sessions.analyst, 'GET', '/dashboard/api/developers/api_keys');
    expect(after.body.data).toEqual(before.body.data);
  });

  it('refuses a roll without the session’s CSRF token, and another merchant’s key', async () => {
    const keys = await call(sessions.developer, 'GET', '/dashboard/api/developers/api_keys');
    const target = String(keys.body.data?.find((row) => row.status === 'active')?.id);
    const forged = await call({ ...sessions.developer, csrf_token: 'forged' }, 'POST', `/dashboard/api/developers/api_keys/${target}/roll`, {});
    expect(forged.status).toBe(403);
    expect(forged.body.error?.code).toBe('dashboard_csrf_invalid');

    const other = await t.newMerchant();
    const other_key = await t.owner.query<{ id: string }>(
      "SELECT k.id FROM merchants.api_keys k WHERE k.merchant_id <> (SELECT merchant_id FROM merchants.api_keys WHERE id = $1) AND k.kind = 'secret'",
      [target],
    );
    const foreign = await call(sessions.developer, 'POST', `/dashboard/api/developers/api_keys/${other_key.rows[0]?.id ?? ''}/roll`, {});
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.code).toBe('resource_missing');
    await expect(other.stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
  });
});

describe('webhooks', () => {
  it('lists endpoints without their secret, logs each delivery attempt, and resends a delivery to the receiver', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    receiver.secret = endpoint.secret ?? '';
    const customer = await t.stripe.customers.create({ email: 'hooked@example.com' });
    await waitFor('the first delivery', () => receiver.delivered().some((event) => (event.data.object as { id: string }).id === customer.id));
    const event_id = receiver.received.find((r) => (r.event.data.object as { id: string }).id === customer.id)?.event.id;

    const endpoints = await call(sessions.analyst, 'GET', '/dashboard/api/developers/webhook_endpoints');
    expect(endpoints.body.data?.find((row) => row.id === endpoint.id)).toMatchObject({ url: receiver.url, status: 'enabled' });
    expect(endpoints.text).not.toContain('whsec_');

    const deliveries = `/dashboard/api/developers/webhook_endpoints/${endpoint.id}/deliveries`;
    let log = await call(sessions.analyst, 'GET', deliveries);
    await waitFor('the attempt in the log', async () => {
      log = await call(sessions.analyst, 'GET', deliveries);
      return log.body.data?.some((row) => row.event_id === event_id && row.status_code === 200) ?? false;
    });
    const first = log.body.data?.find((row) => row.event_id === event_id);
    expect(first).toMatchObject({ event_type: 'customer.created', attempt: 1, status_code: 200, next_retry_at: null });

    const analyst_resend = await call(sessions.analyst, 'POST', `/dashboard/api/developers/deliveries/${String(first?.id)}/resend`, {});
    expect(analyst_resend.status).toBe(403);

    const resent = await call(sessions.developer, 'POST', `/dashboard/api/developers/deliveries/${String(first?.id)}/resend`, {});
    expect(resent.status).toBe(200);
    expect(resent.body.delivery).toMatchObject({ id: first?.id, event_id, status: 'pending' });
    await waitFor('the resent event at the receiver', () => receiver.received.some((r) => r.event.id === event_id && r.attempt === 2));
    await waitFor('the second attempt in the log', async () => {
      log = await call(sessions.developer, 'GET', deliveries);
      return log.body.data?.some((row) => row.event_id === event_id && row.attempt === 2 && row.status_code === 200) ?? false;
    });
    expect(log.text).not.toContain('whsec_');

    const audit = await call(sessions.owner, 'GET', '/dashboard/api/audit_log');
    expect(audit.body.data?.find((row) => row.action === 'dashboard.webhook_delivery.resent')).toMatchObject({
      user_email: 'developer@example.com',
      target: event_id,
    });
    expect(audit.body.data?.find((row) => row.action === 'api_key.rolled')).toMatchObject({
      actor_type: 'dashboard_user',
      user_email: 'developer@example.com',
    });
    expect((await call(sessions.developer, 'GET', '/dashboard/api/audit_log')).status).toBe(403);
  });

  it('answers 404 for a delivery or endpoint that is not this merchant’s', async () => {
    const missing = await call(sessions.developer, 'POST', '/dashboard/api/developers/deliveries/999999999/resend', {});
    expect(missing.status).toBe(404);
    const endpoint = await call(sessions.developer, 'GET', '/dashboard/api/developers/webhook_endpoints/we_nothere/deliveries');
    expect(endpoint.status).toBe(404);
  });
});

describe('merchant isolation', () => {
  it('answers 404 for another merchant’s endpoint, delivery and key, and leaves them as they were', async () => {
    const other = await t.newMerchant();
    const other_receiver = await startReceiver();
    try {
      const endpoint = await other.stripe.webhookEndpoints.create({ url: other_receiver.url, enabled_events: ['customer.created'] });
      other_receiver.secret = endpoint.secret ?? '';
      const customer = await other.stripe.customers.create({ email: 'elsewhere@example.com' });
      const delivered = async () =>
        (
          await t.owner.query<{ id: string; status: string; attempts: number }>(
            "SELECT id::text AS id, status, attempts FROM events.webhook_deliveries WHERE endpoint_id = $1 AND event_type = 'customer.created'",
            [endpoint.id],
          )
        ).rows[0];
      await waitFor('the other merchant’s delivery', async () => (await delivered())?.status === 'succeeded');
      const before = await delivered();
      expect(other_receiver.delivered().map((event) => (event.data.object as { id: string }).id)).toEqual([customer.id]);

      const log = await call(sessions.owner, 'GET', `/dashboard/api/developers/webhook_endpoints/${endpoint.id}/deliveries`);
      expect(log.status).toBe(404);
      expect(log.body.error?.code).toBe('resource_missing');
      expect(log.text).not.toContain(customer.id);
      const resend = await call(sessions.developer, 'POST', `/dashboard/api/developers/deliveries/${before?.id ?? ''}/resend`, {});
      expect(resend.status).toBe(404);
      expect(resend.body.error?.code).toBe('resource_missing');
      expect(await delivered()).toEqual(before);

      const endpoints = await call(sessions.owner, 'GET', '/dashboard/api/developers/webhook_endpoints');
      expect(endpoints.body.data?.map((row) => row.id)).not.toContain(endpoint.id);
      const events = await call(sessions.owner, 'GET', '/dashboard/api/developers/events?limit=100');
      expect(events.text).not.toContain(customer.id);
      const keys = await call(sessions.owner, 'GET', '/dashboard/api/developers/api_keys');
      const other_keys = await t.owner.query<{ id: string }>('SELECT id FROM merchants.api_keys WHERE merchant_id <> $1', [await ownMerchant()]);
      expect(other_keys.rows.length).toBeGreaterThan(0);
      for (const row of other_keys.rows) expect(keys.text).not.toContain(row.id);
    } finally {
      await other_receiver.close();
    }
  });
});

async function ownMerchant(): Promise<string> {
  const row = await t.owner.query<{ merchant_id: string }>("SELECT merchant_id FROM dashboard.users WHERE email = 'owner@example.com'");
  return row.rows[0]?.merchant_id ?? '';
}

describe('request log and events', () => {
  it('shows a /v1 call with its status and latency after the flush, without its query string or key', async () => {
    const customer = await t.stripe.customers.create({ email: 'logged@example.com' });
    await t.stripe.customers.list({ limit: 3 });
    let requests = await call(sessions.developer, 'GET', '/dashboard/api/developers/requests?limit=100');
    await waitFor('the flushed request log', async () => {
      requests = await call(sessions.developer, 'GET', '/dashboard/api/developers/requests?limit=100');
      return requests.body.data?.some((row) => row.path === '/v1/customers' && row.method === 'GET') ?? false;
    });
    const listed = requests.body.data?.find((row) => row.path === '/v1/customers' && row.method === 'GET');
    expect(listed).toMatchObject({ status: 200, api_key_id: expect.stringMatching(/^key_/) as unknown });
    expect(listed?.latency_ms).toBeGreaterThan(0);
    expect(String(listed?.request_id)).toMatch(/^req_/);
    expect(requests.text).not.toContain(TEST_SECRET_KEY);
    expect(requests.text).not.toContain('limit=3');

    const events = await call(sessions.analyst, 'GET', '/dashboard/api/developers/events');
    const created = events.body.data?.find((row) => row.type === 'customer.created');
    expect(created).toBeDefined();
    expect(events.body.data?.[0]?.created).toBeGreaterThanOrEqual(Number(created?.created));
    expect(customer.id).toMatch(/^cus_/);
  });

  it('logs a card number or a key sent where an id goes only as [redacted]', async () => {
    const card = '4242424242424242';
    const probes = [`/v1/payment_methods/${card}`, '/v1/customers/4000%200566%205566%205556', `/v1/customers/${TEST_SECRET_KEY}`];
    for (const probe of probes) {
      const response = await fetch(`${t.url}${probe}`, { headers: { authorization: `Bearer ${TEST_SECRET_KEY}` } });
      expect(response.status).toBe(404);
    }
    let requests = await call(sessions.developer, 'GET', '/dashboard/api/developers/requests?limit=100');
    await waitFor('the probes in the request log', async () => {
      requests = await call(sessions.developer, 'GET', '/dashboard/api/developers/requests?limit=100');
      return (requests.body.data?.filter((row) => row.status === 404).length ?? 0) >= probes.length;
    });
    const paths = requests.body.data?.filter((row) => row.status === 404).map((row) => row.path);
    expect(paths).toEqual(expect.arrayContaining(['/v1/payment_methods/[redacted]', '/v1/customers/[redacted]']));
    const stored = await t.owner.query<{ path: string }>('SELECT path FROM dashboard.api_requests');
    const stored_paths = stored.rows.map((row) => row.path).join('\n');
    expect(stored_paths).not.toMatch(/\d{12}/);
    expect(stored_paths).not.toContain(TEST_SECRET_KEY);
    expect(requests.text).not.toContain(card);
    expect(requests.text).not.toContain(TEST_SECRET_KEY);
  });

  it('pages the request log newest first with next_cursor', async () => {
    const first = await call(sessions.developer, 'GET', '/dashboard/api/developers/requests?limit=2');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.has_more).toBe(true);
    const second = await call(sessions.developer, 'GET', `/dashboard/api/developers/requests?limit=2&starting_after=${String(first.body.next_cursor)}`);
    const ids = [...(first.body.data ?? []), ...(second.body.data ?? [])].map((row) => String(row.request_id));
    expect(ids).toEqual([...ids].sort().reverse());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses the developers API without a session', async () => {
    const response = await fetch(`${t.url}/dashboard/api/developers/requests`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('dashboard_session_required');
  });
});

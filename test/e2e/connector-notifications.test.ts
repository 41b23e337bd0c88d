import Fastify from 'fastify';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import type { AdyenWorld } from '../support/adyen.js';
import { ADYEN_API_KEY, ADYEN_HMAC_KEY, eventually, startAdyenWorld } from '../support/adyen.js';

/**
 * POST /connectors/:connector_account_id/notifications on a real server, fed by the Adyen simulator
 * (its signed standard notifications) for a merchant whose payments route to an `adyen` connector
 * account: a payment whose answer was lost stays `processing` until its AUTHORISATION notification
 * settles it, once, whatever the duplicates and the order; a forged notification changes nothing.
 */

const ADMIN_TOKEN = 'admin_notificationsToken_0123456789abcdef';
let t: TestPlatform;
let world: AdyenWorld;
let merchant_id: string;
let account_id: string;
let notification_url: string;

beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  world = await startAdyenWorld(t.platform.database.pool);
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
  const account = await admin('POST', '/connector_accounts', { type: 'adyen', label: 'adyen', credentials: world.credentials });
  account_id = String(account.id);
  await admin('PUT', '/routing', { default: { type: 'priority', accounts: [account_id] } });
  notification_url = `${t.url}/connectors/${account_id}/notifications`;
  world.simulator.notifyTo(notification_url);
  // The routing cache drops the merchant at the rules' commit; wait until a payment goes to Adyen.
  await eventually(async () => (await routedTo(await pay({ amount: 100 }))) === account_id, 10_000);
}, 60_000);
afterAll(async () => {
  await world?.close();
  await t?.stop();
});
beforeEach(() => {
  world.simulator.faults.clear();
  world.simulator.notifyTo(notification_url);
});

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

function pay(params: Partial<Stripe.PaymentIntentCreateParams> = {}): Promise<Stripe.PaymentIntent> {
  return t.stripe.paymentIntents.create({ amount: 2500, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, ...params });
}

async function routedTo(intent: Stripe.PaymentIntent): Promise<string | undefined> {
  const rows = await t.owner.query<{ connector_account: string }>(
    `SELECT connector_account FROM connectors.routed_tries WHERE attempt_id = (SELECT attempt_id FROM connectors.routed_tries
       WHERE merchant_id = $1 ORDER BY created_ms DESC LIMIT 1)`,
    [merchant_id],
  );
  expect(intent.status).not.toBe('requires_payment_method');
  return rows.rows[0]?.connector_account;
}

/** The id the connector sent Adyen for the intent's in-flight attempt (its merchantReference). */
async function referenceOf(intent_id: string): Promise<string> {
  const rows = await t.owner.query<{ reference: string }>(
    `SELECT tries.reference FROM payments.processor_calls calls JOIN connectors.routed_tries tries ON tries.attempt_id = calls.id
      WHERE calls.payment_intent_id = $1 ORDER BY tries.try_number DESC LIMIT 1`,
    [intent_id],
  );
  const reference = rows.rows[0]?.reference;
  expect(reference).toMatch(/^ch_/);
  return reference ?? '';
}

async function eventsAbout(intent_id: string, type: string): Promise<Stripe.Event[]> {
  const list = await t.stripe.events.list({ limit: 100, type });
  return list.data.filter((event) => (event.data.object as { id: string }).id === intent_id);
}

function deliveriesOf(reference: string): Array<{ eventCode: string; accepted: boolean }> {
  return world.simulator.notifier.deliveries.filter((delivery) => delivery.merchantReference === reference);
}

describe('processor notifications settle what a lost answer left open', () => {
  it('a payment whose answer was dropped answers processing, and its AUTHORISATION notification settles it once', async () => {
    world.simulator.faults.set({ next: [{ endpoint: 'payments', kind: 'drop_after' }], notifications: { delay_ms: 300 } });
    const intent = await pay();
    expect(intent.status).toBe('processing');
    const reference = await referenceOf(intent.id);

    const settled = await eventually(async () => {
      const current = await t.stripe.paymentIntents.retrieve(intent.id);
      return current.status === 'processing' ? null : current;
    }, 10_000);
    expect(settled.status).toBe('succeeded');
    expect(settled.amount_received).toBe(2500);
    expect(world.simulator.authorizationCount(reference)).toBe(1);
    expect(deliveriesOf(reference)).toEqual([expect.objectContaining({ eventCode: 'AUTHORISATION', accepted: true })]);
    const succeeded = await eventually(async () => {
      const found = await eventsAbout(intent.id, 'payment_intent.succeeded');
      return found.length > 0 ? found : null;
    });
    expect(succeeded).toHaveLength(1);
  });

  it('duplicated and reordered notifications (a CAPTURE before its AUTHORISATION) change nothing twice', async () => {
    // Held until the last one is due, then delivered newest first, each twice.
    world.simulator.faults.set({
      next: [{ endpoint: 'payments', kind: 'drop_after' }],
      notifications: { duplicate: true, out_of_order: true, delay_ms: 3_000 },
    });
    const lost = await pay({ amount: 3100 });
    expect(lost.status).toBe('processing');
    const lost_reference = await referenceOf(lost.id);
    const manual = await pay({ amount: 4200, capture_method: 'manual' });
    expect(manual.status).toBe('requires_capture');
    const captured = await t.stripe.paymentIntents.capture(manual.id);
    expect(captured.status).toBe('succeeded');
    const manual_reference = chargeIdOf(captured);

    await eventually(() => deliveriesOf(lost_reference).length === 2 && deliveriesOf(manual_reference).length === 4, 15_000);
    expect(deliveriesOf(manual_reference).map((delivery) => [delivery.eventCode, delivery.accepted])).toEqual([
      ['CAPTURE', true],
      ['CAPTURE', true],
      ['AUTHORISATION', true],
      ['AUTHORISATION', true],
    ]);
    expect(deliveriesOf(lost_reference).every((delivery) => delivery.eventCode === 'AUTHORISATION' && delivery.accepted)).toBe(true);

    const settled = await t.stripe.paymentIntents.retrieve(lost.id);
    expect(settled.status).toBe('succeeded');
    expect(settled.amount_received).toBe(3100);
    expect(world.simulator.authorizationCount(lost_reference)).toBe(1);
    const after = await t.stripe.paymentIntents.retrieve(manual.id);
    expect(after).toMatchObject({ status: 'succeeded', amount_received: 4200 });
    const charges = await t.stripe.charges.list({ payment_intent: lost.id });
    expect(charges.data.map((charge) => [charge.status, charge.amount_captured])).toEqual([['succeeded', 3100]]);
    for (const id of [lost.id, manual.id]) {
      const events = await eventually(async () => {
        const found = await eventsAbout(id, 'payment_intent.succeeded');
        return found.length > 0 ? found : null;
      });
      expect(events).toHaveLength(1);
    }
  });
});

/** Stands in for Payrail while the simulator's notification is captured, so a test can replay or forge it. */
async function captureNextNotification(): Promise<{ body: () => string | undefined; close: () => Promise<void> }> {
  const app = Fastify();
  let captured: string | undefined;
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.post('/capture', async (request, reply) => {
    captured ??= request.body as string;
    return reply.type('text/plain').send('[accepted]');
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  world.simulator.notifyTo(`${address}/capture`);
  return { body: () => captured, close: () => app.close() };
}

function post(url: string, body: string, content_type = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': content_type }, body });
}

describe('what the notifications route refuses', () => {
  it('a notification with a bad HMAC is refused with 401 and stores nothing; the genuine one then settles the payment', async () => {
    const capture = await captureNextNotification();
    world.simulator.faults.set({ next: [{ endpoint: 'payments', kind: 'drop_after' }] });
    const intent = await pay({ amount: 5300 });
    expect(intent.status).toBe('processing');
    const reference = await referenceOf(intent.id);
    const genuine = await eventually(() => capture.body());
    await capture.close();
    expect(genuine).toContain(reference);

    const signature = /"hmacSignature":"([^"]+)"/.exec(genuine)?.[1] ?? '';
    expect(signature).not.toBe('');
    const forged = genuine.replace(signature, Buffer.alloc(32, 7).toString('base64'));
    const refused = await post(notification_url, forged);
    expect(refused.status).toBe(401);
    const refused_body = await refused.text();
    expect(refused_body).not.toContain(signature);
    const record = await t.owner.query<{ result: unknown }>('SELECT result FROM connectors.adyen_payments WHERE reference = $1', [reference]);
    expect(record.rows).toEqual([{ result: null }]);
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('processing');

    const accepted = await post(notification_url, genuine);
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toBe('[accepted]');
    // Settled in the request itself, before the acknowledgement (the sweeper's inquiry could not: Adyen cannot tell).
    const settled = await t.stripe.paymentIntents.retrieve(intent.id);
    expect(settled).toMatchObject({ status: 'succeeded', amount_received: 5300 });
    const again = await post(notification_url, genuine);
    expect(again.status).toBe(200);
    const charges = await t.stripe.charges.list({ payment_intent: intent.id });
    expect(charges.data).toHaveLength(1);
  });

  it('an unknown account and an account whose processor sends no notifications are 404; neither reads the body', async () => {
    const unknown = await post(`${t.url}/connectors/mca_01UNKNOWNACCOUNT00000000000/notifications`, '{"live":"false","notificationItems":[]}');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('No such connector account.');
    const malformed = await post(`${t.url}/connectors/..%2Fadmin/notifications`, '{}');
    expect(malformed.status).toBe(404);
    const sandbox = await admin('POST', '/connector_accounts', { type: 'sandbox', label: 'quiet' });
    const silent = await post(`${t.url}/connectors/${String(sandbox.id)}/notifications`, '{}', 'text/plain');
    expect(silent.status).toBe(404);
  });

  it('a body past the limit is refused before it is verified', async () => {
    const huge = await post(notification_url, `{"live":"false","pad":"${'x'.repeat(1_100_000)}"}`);
    expect(huge.status).toBe(413);
  });

  it('no API key or HMAC key reaches a log line or a response', async () => {
    const garbage = await post(notification_url, 'not json at all');
    expect(garbage.status).toBe(401);
    const text = await garbage.text();
    const logs = t.logs.join('\n');
    for (const secret of [ADYEN_API_KEY, ADYEN_HMAC_KEY, ADYEN_HMAC_KEY.toLowerCase()]) {
      expect(logs).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
    expect(logs).toContain('processor notification refused');
  });
});

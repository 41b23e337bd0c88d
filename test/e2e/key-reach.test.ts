import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * What a key reaches beyond its route. A publishable key and an intent's client_secret both sit in the
 * customer's browser: they get Stripe's publishable subset of the intent, never the merchant's customer
 * (email, address), metadata or charges, even when asked to expand them. A restricted key's `expand[]`
 * loads only resources it may read.
 */

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const AUTH_FAILURE_LIMIT = 5;
let t: TestPlatform;
let publishable_key = '';

beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN, auth_failure_limit: AUTH_FAILURE_LIMIT });
  const merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
  const created = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}/api_keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'type=publishable',
  });
  publishable_key = String(((await created.json()) as { secret?: string }).secret);
}, 60_000);

async function restrictedKey(permissions: Record<string, 'read' | 'write'>): Promise<string> {
  const merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
  const form = new URLSearchParams({ type: 'restricted' });
  for (const [resource, access] of Object.entries(permissions)) form.set(`permissions[${resource}]`, access);
  const created = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}/api_keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return String(((await created.json()) as { secret?: string }).secret);
}
afterAll(async () => {
  await t?.stop();
});

async function asBrowser(
  method: 'GET' | 'POST',
  path: string,
  form: Record<string, string>,
  key = publishable_key,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const params = new URLSearchParams(form).toString();
  const response = await fetch(method === 'GET' ? `${t.url}${path}?${params}` : `${t.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(method === 'POST' ? { body: params } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const PRIVATE_FIELDS = ['customer', 'metadata', 'latest_charge', 'amount_received', 'statement_descriptor', 'transfer_data'];

describe('an intent reached with a publishable key', () => {
  it('shows only its publishable fields, with or without expand, and the secret key still sees everything', async () => {
    const customer = await t.stripe.customers.create({ email: 'victim@example.com', address: { line1: '1 Private Street' } });
    const intent = await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', customer: customer.id, metadata: { note: 'internal' } });
    const client_secret = String(intent.client_secret);

    const plain = await asBrowser('GET', `/v1/payment_intents/${intent.id}`, { client_secret });
    const expanded = await asBrowser('GET', `/v1/payment_intents/${intent.id}`, { client_secret, 'expand[]': 'customer' });
    for (const answer of [plain, expanded]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        id: intent.id,
        object: 'payment_intent',
        amount: 1500,
        currency: 'usd',
        status: 'requires_payment_method',
        client_secret,
      });
      for (const field of PRIVATE_FIELDS) expect(answer.body).not.toHaveProperty(field);
      expect(JSON.stringify(answer.body)).not.toMatch(/victim@example\.com|Private Street|internal/);
    }
    const full = await t.stripe.paymentIntents.retrieve(intent.id, { expand: ['customer'] });
    expect(full.metadata).toEqual({ note: 'internal' });
    expect((full.customer as { email?: string }).email).toBe('victim@example.com');
  });

  it('confirms and authenticates with the same subset, and its errors are untouched', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', metadata: { order: 'o-17' } });
    const client_secret = String(intent.client_secret);
    const confirmed = await asBrowser('POST', `/v1/payment_intents/${intent.id}/confirm`, { client_secret, payment_method: 'pm_card_authenticationRequired' });
    expect(confirmed.body).toMatchObject({ status: 'requires_action', next_action: { type: 'redirect_to_url' } });
    expect(confirmed.body).not.toHaveProperty('metadata');
    const authenticated = await asBrowser('POST', `/v1/test_helpers/payment_intents/${intent.id}/authenticate`, { client_secret, outcome: 'succeeded' });
    expect(authenticated.body).toMatchObject({ id: intent.id, status: 'succeeded', payment_method: 'pm_card_authenticationRequired' });
    for (const field of PRIVATE_FIELDS) expect(authenticated.body).not.toHaveProperty(field);
    const forged = await asBrowser('GET', `/v1/payment_intents/${intent.id}`, { client_secret: `${intent.id}_secret_forged` });
    expect(forged).toMatchObject({ status: 400, body: { error: { code: 'parameter_invalid', param: 'client_secret' } } });
  });

  it('shows a SetupIntent only its publishable fields', async () => {
    const customer = await t.stripe.customers.create({ email: 'saver@example.com' });
    const setup = await t.stripe.setupIntents.create({ customer: customer.id, metadata: { note: 'internal' } });
    const answer = await asBrowser('GET', `/v1/setup_intents/${setup.id}`, { client_secret: String(setup.client_secret) });
    expect(answer.body).toMatchObject({ id: setup.id, object: 'setup_intent', status: 'requires_payment_method', usage: 'off_session' });
    for (const field of ['customer', 'metadata', 'latest_attempt', 'mandate']) expect(answer.body).not.toHaveProperty(field);
  });
});

describe("a restricted key's expand[]", () => {
  it('loads only resources the key may read, and is refused as Stripe refuses it otherwise', async () => {
    const customer = await t.stripe.customers.create({ email: 'hidden@example.com' });
    const paid = await t.stripe.paymentIntents.create({ amount: 900, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    const charge_id = typeof paid.latest_charge === 'string' ? paid.latest_charge : '';
    expect(charge_id).toMatch(/^ch_/);
    const charges_only = await restrictedKey({ charges: 'read' });
    for (const path of ['payment_intent', 'customer', 'balance_transaction', 'refunds']) {
      const refused = await asBrowser('GET', `/v1/charges/${charge_id}`, { 'expand[]': path }, charges_only);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'permission_denied' } });
      expect(JSON.stringify(refused.body)).not.toContain('hidden@example.com');
    }
    const listed = await asBrowser('GET', '/v1/charges', { 'expand[]': 'data.customer' }, charges_only);
    expect(listed.body).toMatchObject({ error: { code: 'permission_denied' } });
    expect(JSON.stringify(listed.body)).toContain("'rak_customer_read'");
    expect((await asBrowser('GET', `/v1/charges/${charge_id}`, {}, charges_only)).body).toMatchObject({ id: charge_id, customer: customer.id });

    const with_customers = await restrictedKey({ charges: 'read', customers: 'read' });
    const expanded = await asBrowser('GET', `/v1/charges/${charge_id}`, { 'expand[]': 'customer' }, with_customers);
    expect(expanded.body).toMatchObject({ id: charge_id, customer: { id: customer.id, email: 'hidden@example.com' } });
  });
});

describe('guessing the admin token', () => {
  it('is throttled per client address like guessing API keys, the right token included, and API keys alike', async () => {
    const verify = (token: string) => fetch(`${t.url}/admin/v1/audit/verify`, { headers: { authorization: `Bearer ${token}` } });
    expect((await verify(ADMIN_TOKEN)).status).toBe(200);
    const guesses: number[] = [];
    for (let i = 0; i <= AUTH_FAILURE_LIMIT; i++) guesses.push((await verify(`${ADMIN_TOKEN}${i}`)).status);
    expect(guesses).toEqual([...Array<number>(AUTH_FAILURE_LIMIT).fill(401), 429]);
    const refused = await verify(ADMIN_TOKEN);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'rate_limit' } });
    expect((await fetch(`${t.url}/v1/balance`, { headers: { authorization: `Bearer ${t.secret_key}` } })).status).toBe(429);
  });
});

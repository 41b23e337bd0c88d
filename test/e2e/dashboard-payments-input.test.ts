import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Bad input to the dashboard's API: every malformed query, path or body answers a Stripe-shaped
 * error with its 4xx status and names the parameter, never a 500; odd but valid text (quotes,
 * emoji) simply filters. An unknown list cursor is refused as /v1's lists refuse it.
 */

const PASSWORD = 'correct horse battery staple';
let t: TestPlatform;
let session: { cookie: string; csrf_token: string };
let paid: Stripe.PaymentIntent;

interface Answer {
  status: number;
  body: { data?: { id: string }[]; error?: { type: string; code: string; message: string; param?: string } };
}

async function call(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
  const response = await fetch(`${t.url}/dashboard/api${path}`, {
    method,
    headers: { cookie: session.cookie, ...(method === 'POST' ? { 'x-csrf-token': session.csrf_token, 'content-type': 'application/json' } : {}) },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** Refused with `status`, Stripe-shaped, naming `param` (when given) in the error. */
async function expectRefused(method: 'GET' | 'POST', path: string, expected: { status: number; code: string; param?: string }, body?: string) {
  const answer = await call(method, path, body);
  const error = answer.body.error;
  expect({ path, status: answer.status, code: error?.code, ...(expected.param ? { param: error?.param } : {}) }).toEqual({ path, ...expected });
  expect(error?.type).toBe('invalid_request_error');
  expect(error?.message.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  t = await startTestPlatform();
  paid = await t.stripe.paymentIntents.create({
    amount: 1500,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
    metadata: { 'it\'s "quoted"': 'café ☕ 💳' },
  });
  const merchant = await t.owner.query<{ merchant_id: string }>('SELECT merchant_id FROM payments.payment_intents WHERE id = $1', [paid.id]);
  await createDashboardUser(t.platform.database.pool, {
    merchant_id: merchant.rows[0]?.merchant_id ?? '',
    email: 'owner@example.com',
    password: PASSWORD,
    role: 'owner',
  });
  const response = await fetch(`${t.url}/dashboard/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'owner@example.com', password: PASSWORD }),
  });
  session = {
    cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '',
    csrf_token: ((await response.json()) as { csrf_token: string }).csrf_token,
  };
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('the payments list', () => {
  it('refuses malformed filters with a 400 naming the parameter', async () => {
    const invalid = [
      ['amount_gte=abc', 'amount_gte', 'parameter_invalid_integer'],
      ['amount_lte=1.5', 'amount_lte', 'parameter_invalid_integer'],
      ['amount_gte=-1', 'amount_gte', 'parameter_invalid_integer'],
      ['amount_gte=99999999999999999999', 'amount_gte', 'parameter_invalid_integer'],
      ['limit=100000', 'limit', 'parameter_invalid_integer'],
      ['limit=0', 'limit', 'parameter_invalid_integer'],
      ['created_gte=-1', 'created_gte', 'parameter_invalid_integer'],
      ['created_lte=1e9', 'created_lte', 'parameter_invalid_integer'],
      ['status=paid', 'status', 'parameter_invalid'],
      ['status=succeeded&status=canceled', 'status', 'parameter_invalid'],
      ['currency=zzz', 'currency', 'currency_invalid'],
      ['last4=12345', 'last4', 'parameter_invalid'],
      [`email=${'a'.repeat(513)}`, 'email', 'parameter_invalid'],
      ['email=', 'email', 'parameter_invalid_empty'],
      ['metadata_key=%00', 'metadata_key', 'parameter_invalid'],
      [`metadata_key=order&metadata_value=${'v'.repeat(501)}`, 'metadata_value', 'parameter_invalid'],
      [`metadata_key=${'k'.repeat(41)}`, 'metadata_key', 'parameter_invalid'],
      ['metadata_value=A-17', 'metadata_key', 'parameter_missing'],
      ['starting_after=%00', 'starting_after', 'parameter_invalid'],
    ] as const;
    for (const [query, param, code] of invalid) await expectRefused('GET', `/payments?${query}`, { status: 400, code, param });
    await expectRefused('GET', '/payments?colour=red', { status: 400, code: 'parameter_unknown', param: 'colour' });
    await expectRefused('GET', '/payments?status[]=succeeded', { status: 400, code: 'parameter_invalid', param: 'status' });
  });

  it('refuses a cursor that names none of the merchant’s payments, as /v1 lists do, and pages from one that does', async () => {
    await expectRefused('GET', '/payments?starting_after=garbage', { status: 404, code: 'resource_missing', param: 'starting_after' });
    await expectRefused('GET', '/payments?starting_after=pi_0000000000000000000000000', { status: 404, code: 'resource_missing', param: 'starting_after' });
    const page = await call('GET', `/payments?starting_after=${paid.id}`);
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual([]);
  });

  it('filters by metadata with quotes and emoji in its key and value, parameterised, not refused', async () => {
    const key = encodeURIComponent('it\'s "quoted"');
    const found = await call('GET', `/payments?metadata_key=${key}&metadata_value=${encodeURIComponent('café ☕ 💳')}`);
    expect(found.status).toBe(200);
    expect(found.body.data?.map((row) => row.id)).toEqual([paid.id]);
    const injected = await call('GET', `/payments?metadata_key=${encodeURIComponent("x' OR '1'='1")}`);
    expect(injected.status).toBe(200);
    expect(injected.body.data).toEqual([]);
  });
});

describe('paths, bodies and the other lists', () => {
  it('answers 404 for ids no object has, NUL included', async () => {
    for (const path of ['/payments/pi_missing', '/payments/%00', '/customers/cus_missing', '/customers/%00']) {
      await expectRefused('GET', path, { status: 404, code: 'resource_missing' });
    }
    for (const path of ['/developers/deliveries/abc/resend', '/developers/api_keys/%00/roll', '/payments/%00/refund']) {
      await expectRefused('POST', path, { status: 404, code: 'resource_missing' }, '{}');
    }
    await expectRefused('GET', '/developers/webhook_endpoints/we_missing/deliveries', { status: 404, code: 'resource_missing' });
  });

  it('refuses malformed action bodies with a 400 and changes nothing', async () => {
    await expectRefused('POST', `/payments/${paid.id}/refund`, { status: 400, code: 'parameter_invalid_integer', param: 'amount' }, '{"amount":"abc"}');
    await expectRefused('POST', `/payments/${paid.id}/refund`, { status: 400, code: 'parameter_invalid_integer', param: 'amount' }, '{"amount":1e30}');
    await expectRefused('POST', `/payments/${paid.id}/refund`, { status: 400, code: 'amount_too_large', param: 'amount' }, '{"amount":1000000000000000}');
    await expectRefused(
      'POST',
      '/developers/api_keys',
      { status: 400, code: 'parameter_invalid', param: 'name' },
      '{"name":"a\\u0000b","permissions":{"charges":"read"}}',
    );
    await expectRefused('POST', `/payments/${paid.id}/refund`, { status: 400, code: 'parameter_unknown', param: 'reason' }, '{"reason":"x"}');
    const malformed = await call('POST', `/payments/${paid.id}/refund`, '{"amount":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error?.type).toBe('invalid_request_error');
    await expectRefused('POST', '/developers/api_keys', { status: 400, code: 'parameter_invalid' }, '{"name":"x","permissions":{"nothing":"write"}}');
    await expectRefused('POST', '/developers/api_keys', { status: 400, code: 'parameter_invalid' }, '{"name":"x","permissions":{"charges":"admin"}}');
    expect((await t.stripe.refunds.list({ payment_intent: paid.id })).data).toEqual([]);
  });

  it('refuses malformed paging and chart parameters everywhere with a 400', async () => {
    const invalid = [
      ['/balance_transactions?limit=abc', 'limit'],
      ['/payouts?limit=101', 'limit'],
      ['/customers?limit=-1', 'limit'],
      ['/charts/volume?days=abc', 'days'],
      ['/charts/declines?days=100000', 'days'],
      ['/developers/requests?limit=100000', 'limit'],
      ['/developers/events?starting_after=%00', 'starting_after'],
      ['/developers/webhook_endpoints?limit=5', 'limit'],
      ['/audit_log?starting_after=garbage', 'starting_after'],
      ['/audit_log?starting_after=99999999999999999999', 'starting_after'],
    ] as const;
    for (const [path, param] of invalid) {
      const answer = await call('GET', path);
      expect({ path, status: answer.status, param: answer.body.error?.param, type: answer.body.error?.type }).toEqual({
        path,
        status: 400,
        param,
        type: 'invalid_request_error',
      });
    }
    await expectRefused('GET', '/customers?starting_after=cus_garbage', { status: 404, code: 'resource_missing', param: 'starting_after' });
  });
});

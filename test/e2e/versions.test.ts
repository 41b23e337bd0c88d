import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { apiRequest } from '../support/api-request.js';

/** Stripe-Version: validated, echoed as the version the answer is in; older shapes where they differ; Stripe-Account refused. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

function sdk(apiVersion: string): Stripe {
  const { hostname, port } = new URL(t.url);
  return new Stripe(t.secret_key, {
    apiVersion: apiVersion as Stripe.LatestApiVersion,
    host: hostname,
    port: Number(port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

type Body = Record<string, unknown> & { error?: Record<string, unknown> };

async function request(path: string, headers: Record<string, string>, form?: string) {
  const answer = await apiRequest<Body>(t.url, t.secret_key, path, { headers, form });
  return { status: answer.status, version: answer.headers['stripe-version'], body: answer.body };
}

describe('Stripe-Version', () => {
  it('answers in 2023-08-16 without a header, and says so', async () => {
    const answer = await request('/v1/customers', {});
    expect(answer.status).toBe(200);
    expect(answer.version).toBe('2023-08-16');
  });

  it('refuses a version Stripe does not have, storing nothing', async () => {
    for (const version of ['banana', '2020-13-45', '2021-01-01', '2023-08-16; drop table']) {
      const answer = await request('/v1/customers', { 'stripe-version': version }, 'email=v@example.com');
      expect(answer.status, version).toBe(400);
      expect(answer.body.error, version).toMatchObject({ type: 'invalid_request_error', code: 'api_version_invalid' });
      expect(answer.version).toBe('2023-08-16');
    }
    expect((await request('/v1/customers', { 'stripe-version': 'banana' })).body.error?.message).toBe('Invalid Stripe API version: banana');
    expect((await t.stripe.customers.list({ email: 'v@example.com' })).data).toEqual([]);
  });

  it('refuses versions older than PaymentIntents’ current shape, clearly', async () => {
    const answer = await request('/v1/payment_intents', { 'stripe-version': '2018-05-21' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'api_version_unsupported' });
    expect(String(answer.body.error?.message)).toContain('2019-02-11');
  });

  it('answers newer versions (newer SDKs) in 2023-08-16’s shape and says so', async () => {
    for (const version of ['2023-10-16', '2024-06-20', '2025-03-31.basil']) {
      const answer = await request('/v1/payment_intents', { 'stripe-version': version }, 'amount=1000&currency=usd');
      expect(answer.status, version).toBe(200);
      expect(answer.version, version).toBe('2023-08-16');
      expect(answer.body).not.toHaveProperty('charges');
    }
  });

  it('answers 2020-08-27 (stripe-node 8) in its shape: the charges list on intents; older ones list a customer’s sources', async () => {
    const old = sdk('2020-08-27');
    const intent = await old.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charges = (intent as unknown as { charges: Stripe.ApiList<Stripe.Charge> }).charges;
    expect(charges).toMatchObject({ object: 'list', has_more: false, url: `/v1/charges?payment_intent=${intent.id}` });
    expect(charges.data.map((charge) => charge.id)).toEqual([intent.latest_charge]);
    expect(charges.data[0]).toMatchObject({ amount: 2500, paid: true, payment_intent: intent.id });
    const { charges: _legacy, ...current } = intent as unknown as Record<string, unknown>;
    expect(stripeSchemaProblems('payment_intent', current)).toEqual([]);

    const raw = await request(`/v1/payment_intents/${intent.id}`, { 'stripe-version': '2020-08-27' });
    expect(raw.version).toBe('2020-08-27');
    const listed = await old.paymentIntents.list({ limit: 1 });
    expect((listed.data[0] as unknown as { charges: { data: unknown[] } }).charges.data).toHaveLength(1);

    const declined = await rejection(old.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }));
    const failed = declined.payment_intent as unknown as { charges: { data: Stripe.Charge[] } };
    expect(failed.charges.data[0]).toMatchObject({ status: 'failed', failure_code: 'card_declined' });

    // 2020-08-27 is the version that stopped listing a customer's sources; 2020-03-02 still lists them.
    const customer = await old.customers.create({ email: 'old@example.com' });
    expect(customer).not.toHaveProperty('sources');
    const older = await request(`/v1/customers/${customer.id}`, { 'stripe-version': '2020-03-02' });
    expect(older.version).toBe('2020-03-02');
    expect(older.body).toMatchObject({ sources: { object: 'list', data: [] }, subscriptions: { object: 'list', data: [] }, tax_ids: { object: 'list' } });
  });

  it('expands through the charges list in the versions that have it (the old fee recipe), and refuses it in later ones', async () => {
    const old = sdk('2020-08-27');
    const intent = await old.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      expand: ['charges.data.balance_transaction'],
    });
    const [charge] = (intent as unknown as { charges: { data: Stripe.Charge[] } }).charges.data;
    const transaction = charge?.balance_transaction as Stripe.BalanceTransaction;
    expect(transaction).toMatchObject({ object: 'balance_transaction', amount: 5000, source: charge?.id });
    expect(transaction.fee + transaction.net).toBe(5000);
    const listed = await old.paymentIntents.list({ limit: 1, expand: ['data.charges.data.balance_transaction'] });
    const listed_charge = (listed.data[0] as unknown as { charges: { data: Stripe.Charge[] } }).charges.data[0];
    expect((listed_charge?.balance_transaction as Stripe.BalanceTransaction).id).toBe(transaction.id);

    const current = await rejection(t.stripe.paymentIntents.retrieve(intent.id, { expand: ['charges.data.balance_transaction'] }));
    expect(current).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'expand' });
    expect(current.message).toBe('This property cannot be expanded (charges.data.balance_transaction).');
    const before = (await t.stripe.paymentIntents.list({ limit: 100 })).data.length;
    const refused = await rejection(
      t.stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, expand: ['charges'] }),
    );
    expect(refused).toMatchObject({ statusCode: 400, param: 'expand' });
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data.length).toBe(before);
  });

  it('keeps 2022-08-01’s charges list but not the customer lists 2020-08-27 dropped', async () => {
    const intent = await request(
      '/v1/payment_intents',
      { 'stripe-version': '2022-08-01' },
      'amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true',
    );
    expect(intent.version).toBe('2022-08-01');
    expect(intent.body.charges).toMatchObject({ object: 'list', total_count: 1 });
    const customer = await request('/v1/customers', { 'stripe-version': '2022-08-01' }, 'email=c@example.com');
    expect(customer.body).not.toHaveProperty('sources');
  });

  it('makes a card intent by default before 2023-08-16, when automatic payment methods were not on by default', async () => {
    const old = await sdk('2020-08-27').paymentIntents.create({ amount: 1200, currency: 'usd' });
    expect(old).toMatchObject({ payment_method_types: ['card'], automatic_payment_methods: null });
    const chosen = await sdk('2022-08-01').paymentIntents.create({ amount: 1200, currency: 'usd', automatic_payment_methods: { enabled: true } });
    expect(chosen.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    const current = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd' });
    expect(current.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
  });
});

describe('Stripe-Account', () => {
  it('refuses another account until connected accounts exist, never acting on the platform', async () => {
    const answer = await request('/v1/customers', { 'stripe-account': 'acct_1OtherAccount' }, 'email=connect@example.com');
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code: 'account_invalid' });
    expect(String(answer.body.error?.message)).toContain('acct_1OtherAccount');
    expect(String(answer.body.error?.message)).not.toContain(t.secret_key);
    expect((await t.stripe.customers.list({ email: 'connect@example.com' })).data).toEqual([]);

    const error = await rejection(t.stripe.customers.list({}, { stripeAccount: 'acct_1OtherAccount' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    // Naming one's own account is what Stripe allows too: the request acts on it.
    const own = (await t.platform.database.pool.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
    expect(own).toMatch(/^acct_/);
    const mine = await t.stripe.customers.create({ email: 'own-account@example.com' }, { stripeAccount: own });
    expect((await t.stripe.customers.retrieve(mine.id)).id).toBe(mine.id);

    const odd = await request('/v1/customers', { 'stripe-account': '4242424242424242' });
    expect(odd.status).toBe(403);
    expect(JSON.stringify(odd.body)).not.toContain('4242424242424242');
  });
});

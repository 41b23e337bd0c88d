import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * One merchant's key can never see or touch another merchant's objects: every attempt is the same 404
 * as for an id that does not exist (so ids cannot even be probed), lists never include them, and the
 * owner's objects are byte-for-byte unchanged afterwards.
 */

let t: TestPlatform;
let other: { secret_key: string; stripe: Stripe };

/** Merchant A's objects, in every state an attack could target. */
const a = {
  merchant_id: '',
  customer: '',
  payment_method: '',
  succeeded_intent: '',
  charge: '',
  refund: '',
  uncaptured_intent: '',
  uncaptured_charge: '',
  open_intent: '',
  event: '',
};

const MERCHANT_TABLES = [
  'payments.payment_intents',
  'payments.charges',
  'payments.refunds',
  'payments.customers',
  'vault.payment_methods',
  'vault.detokenizations',
  'events.outbox',
  'gateway.idempotency_keys',
];

async function digestOf(merchant_id: string): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of MERCHANT_TABLES) {
    const result = await t.owner.query<{ n: number; md5: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS md5 FROM ${table} r WHERE merchant_id = $1`,
      [merchant_id],
    );
    digest[table] = `${result.rows[0]?.n}:${result.rows[0]?.md5}`;
  }
  return digest;
}

/** What A's own key sees of A's objects. */
async function viewOfA(): Promise<unknown[]> {
  return Promise.all([
    t.stripe.customers.retrieve(a.customer),
    t.stripe.paymentMethods.retrieve(a.payment_method),
    t.stripe.paymentIntents.retrieve(a.succeeded_intent),
    t.stripe.paymentIntents.retrieve(a.uncaptured_intent),
    t.stripe.paymentIntents.retrieve(a.open_intent),
    t.stripe.charges.retrieve(a.charge),
    t.stripe.refunds.retrieve(a.refund),
    t.stripe.events.retrieve(a.event),
  ]).then((objects) =>
    objects.map((object): unknown => JSON.parse(JSON.stringify(object, (key, value: unknown) => (key === 'lastResponse' ? undefined : value)))),
  );
}

let digest_before: Record<string, string>;
let view_before: unknown[];

beforeAll(async () => {
  t = await startTestPlatform();
  other = await t.newMerchant();
  const customer = await t.stripe.customers.create({ email: 'owner@example.com', name: 'Owner', metadata: { tier: 'gold' } });
  a.customer = customer.id;
  const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } });
  a.payment_method = (await t.stripe.paymentMethods.attach(method.id, { customer: customer.id })).id;
  const succeeded = await t.stripe.paymentIntents.create({
    amount: 5000,
    currency: 'usd',
    customer: customer.id,
    payment_method: a.payment_method,
    confirm: true,
  });
  a.succeeded_intent = succeeded.id;
  a.charge = chargeIdOf(succeeded);
  a.refund = (await t.stripe.refunds.create({ charge: a.charge, amount: 1000 })).id;
  const uncaptured = await t.stripe.paymentIntents.create({
    amount: 3000,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    capture_method: 'manual',
    confirm: true,
  });
  expect(uncaptured.status).toBe('requires_capture');
  a.uncaptured_intent = uncaptured.id;
  a.uncaptured_charge = chargeIdOf(uncaptured);
  a.open_intent = (await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id })).id;
  a.event = (await t.stripe.events.list({ limit: 1 })).data[0]?.id ?? '';
  const owner = await t.platform.database.pool.query<{ merchant_id: string }>('SELECT merchant_id FROM payments.payment_intents WHERE id = $1', [
    a.open_intent,
  ]);
  a.merchant_id = owner.rows[0]?.merchant_id ?? '';
  expect(a.merchant_id).toMatch(/^acct_/);
  digest_before = await digestOf(a.merchant_id);
  view_before = await viewOfA();
});
afterAll(async () => {
  await t?.stop();
});

interface Answer {
  status: number;
  body: { error?: { type?: string; code?: string; message?: string; param?: string } } & Record<string, unknown>;
}

async function asB(method: string, path: string, form?: string): Promise<Answer> {
  const response = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${other.secret_key}`, ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form,
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Answer['body'] };
}

function expectMissing(answer: Answer, param?: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(404);
  expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
  if (param !== undefined) expect(answer.body.error?.param).toBe(param);
}

/** Merchant B's key with merchant A's ids, on every route that takes an id. */
const attacks: Array<[string, string, string, () => string | undefined, string | undefined]> = [
  ['retrieve a succeeded intent', 'GET', '/v1/payment_intents/:succeeded_intent', () => undefined, undefined],
  ['retrieve an intent with expand', 'GET', '/v1/payment_intents/:succeeded_intent?expand[]=latest_charge&expand[]=customer', () => undefined, undefined],
  ['retrieve a charge', 'GET', '/v1/charges/:charge', () => undefined, undefined],
  ['retrieve a refund', 'GET', '/v1/refunds/:refund', () => undefined, undefined],
  ['retrieve a customer', 'GET', '/v1/customers/:customer', () => undefined, undefined],
  ['list a customer’s payment methods', 'GET', '/v1/customers/:customer/payment_methods', () => undefined, undefined],
  ['list payment methods filtered by the customer', 'GET', '/v1/payment_methods?customer=:customer', () => undefined, 'customer'],
  ['retrieve a payment method', 'GET', '/v1/payment_methods/:payment_method', () => undefined, undefined],
  ['retrieve an event', 'GET', '/v1/events/:event', () => undefined, undefined],
  ['update an intent', 'POST', '/v1/payment_intents/:open_intent', () => 'amount=9999&description=hijacked', undefined],
  ['confirm an open intent', 'POST', '/v1/payment_intents/:open_intent/confirm', () => 'payment_method=pm_card_visa', undefined],
  ['confirm a succeeded intent', 'POST', '/v1/payment_intents/:succeeded_intent/confirm', () => '', undefined],
  ['capture an uncaptured intent', 'POST', '/v1/payment_intents/:uncaptured_intent/capture', () => '', undefined],
  ['capture part of an uncaptured intent', 'POST', '/v1/payment_intents/:uncaptured_intent/capture', () => 'amount_to_capture=100', undefined],
  ['cancel an open intent', 'POST', '/v1/payment_intents/:open_intent/cancel', () => '', undefined],
  ['cancel an uncaptured intent', 'POST', '/v1/payment_intents/:uncaptured_intent/cancel', () => 'cancellation_reason=fraudulent', undefined],
  ['refund a charge', 'POST', '/v1/refunds', () => `charge=${a.charge}`, 'charge'],
  ['refund part of a charge', 'POST', '/v1/refunds', () => `charge=${a.charge}&amount=100`, 'charge'],
  ['refund an intent', 'POST', '/v1/refunds', () => `payment_intent=${a.succeeded_intent}`, 'payment_intent'],
  ['update a customer', 'POST', '/v1/customers/:customer', () => 'email=attacker@example.com&metadata[tier]=none', undefined],
  ['delete a customer', 'DELETE', '/v1/customers/:customer', () => undefined, undefined],
  ['detach a payment method', 'POST', '/v1/payment_methods/:payment_method/detach', () => '', undefined],
  ['attach a payment method to its own customer', 'POST', '/v1/payment_methods/:payment_method/attach', () => `customer=${a.customer}`, undefined],
  [
    'pay with the payment method',
    'POST',
    '/v1/payment_intents',
    () => `amount=1000&currency=usd&payment_method=${a.payment_method}&confirm=true`,
    'payment_method',
  ],
  ['pay for the customer', 'POST', '/v1/payment_intents', () => `amount=1000&currency=usd&customer=${a.customer}`, 'customer'],
  ['attach pm_card_visa to the customer', 'POST', '/v1/payment_methods/pm_card_visa/attach', () => `customer=${a.customer}`, 'customer'],
];

describe('merchant B cannot reach merchant A’s objects', () => {
  it.each(attacks)('%s → 404', async (_name, method, template, form, param) => {
    const path = template.replace(/:([a-z_]+)/, (_m, field: string) => a[field as keyof typeof a]);
    expectMissing(await asB(method, path, form()), param);
  });

  it('B’s own objects cannot be combined with A’s', async () => {
    const intent = await other.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    expectMissing(await asB('POST', `/v1/payment_intents/${intent.id}/confirm`, `payment_method=${a.payment_method}`), 'payment_method');
    expectMissing(await asB('POST', `/v1/payment_intents/${intent.id}`, `customer=${a.customer}`), 'customer');
    expectMissing(await asB('POST', `/v1/payment_intents/${intent.id}`, `payment_method=${a.payment_method}`), 'payment_method');
    const customer = await other.stripe.customers.create({ name: 'B' });
    expectMissing(await asB('POST', `/v1/payment_methods/${a.payment_method}/attach`, `customer=${customer.id}`));
    // And A cannot see B's, either way round.
    const error = await t.stripe.paymentIntents.retrieve(intent.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('the SDK sees StripeInvalidRequestError 404, the same as for an id that never existed', async () => {
    for (const call of [
      () => other.stripe.paymentIntents.retrieve(a.succeeded_intent),
      () => other.stripe.charges.retrieve(a.charge),
      () => other.stripe.refunds.create({ charge: a.charge }),
      () => other.stripe.paymentIntents.capture(a.uncaptured_intent),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    }
    const foreign = await asB('GET', `/v1/charges/${a.charge}`);
    const absent = await asB('GET', `/v1/charges/ch_${'0'.repeat(26)}`);
    expect(Object.keys(foreign.body.error ?? {}).sort()).toEqual(Object.keys(absent.body.error ?? {}).sort());
  });
});

describe('B’s lists never contain A’s objects', () => {
  const a_ids = () => new Set(Object.values(a));

  async function listIds(path: string): Promise<string[]> {
    const answer = await asB('GET', path);
    if (answer.status === 404) return [];
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const data = (answer.body as { data?: Array<{ id: string; data?: { object?: { id?: string } } }> }).data ?? [];
    // Events carry their object too: neither may be A's.
    return data.flatMap((item) => [item.id, item.data?.object?.id ?? '']).filter(Boolean);
  }

  const lists = () => [
    '/v1/payment_intents?limit=100',
    `/v1/payment_intents?limit=100&customer=${a.customer}`,
    `/v1/payment_intents?limit=100&starting_after=${a.succeeded_intent}`,
    `/v1/payment_intents?limit=100&ending_before=${a.open_intent}`,
    '/v1/charges?limit=100',
    `/v1/charges?limit=100&payment_intent=${a.succeeded_intent}`,
    `/v1/charges?limit=100&customer=${a.customer}`,
    '/v1/refunds?limit=100',
    `/v1/refunds?limit=100&charge=${a.charge}`,
    `/v1/refunds?limit=100&payment_intent=${a.succeeded_intent}`,
    '/v1/customers?limit=100',
    '/v1/customers?limit=100&email=owner@example.com',
    `/v1/payment_methods?customer=${a.customer}`,
    `/v1/customers/${a.customer}/payment_methods`,
    '/v1/events?limit=100',
    '/v1/events?limit=100&type=charge.*',
    '/v1/events?limit=100&type=payment_intent.succeeded',
  ];

  it('for every list and filter', async () => {
    // B has objects of its own, so an empty list is not the only possible answer.
    await other.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await other.stripe.customers.create({ email: 'owner@example.com' });
    const forbidden = a_ids();
    for (const path of lists()) {
      const ids = await listIds(path);
      for (const id of ids) expect(forbidden.has(id), `${path} lists ${id}`).toBe(false);
    }
    const own = await listIds('/v1/payment_intents?limit=100');
    expect(own.length).toBeGreaterThan(0);
  });

  it('the SDK’s auto-pagination sees only B’s objects', async () => {
    const forbidden = a_ids();
    for await (const event of other.stripe.events.list({ limit: 3 })) {
      expect(forbidden.has(event.id)).toBe(false);
      expect(event.account).not.toBe(a.merchant_id);
      expect(forbidden.has((event.data.object as { id: string }).id)).toBe(false);
    }
  });
});

describe('afterwards', () => {
  it('A’s objects and rows are unchanged, and A still sees them all', async () => {
    expect(await digestOf(a.merchant_id)).toEqual(digest_before);
    expect(await viewOfA()).toEqual(view_before);
    const refunds = await t.stripe.refunds.list({ charge: a.charge });
    expect(refunds.data.map((refund) => refund.id)).toEqual([a.refund]);
  });

  it('nothing B did is recorded against A’s ids', async () => {
    const ids = Object.values(a).filter((id) => id !== a.merchant_id);
    const result = await t.platform.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events.outbox WHERE merchant_id <> $1 AND object_id = ANY($2::text[])`,
      [a.merchant_id, ids],
    );
    expect(result.rows[0]?.n).toBe(0);
  });
});

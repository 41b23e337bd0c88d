import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

let t: TestPlatform;
let other: Stripe;
const customers: Stripe.Customer[] = [];
const intents: Stripe.PaymentIntent[] = [];

beforeAll(async () => {
  t = await startTestPlatform();
  other = (await t.newMerchant()).stripe;
  customers.push(await t.stripe.customers.create({ email: 'ada@example.com', name: 'Ada Lovelace', metadata: { tier: 'gold' } }));
  customers.push(await t.stripe.customers.create({ email: 'alan@example.org', name: 'Alan Turing', metadata: { tier: 'silver' } }));
  customers.push(await t.stripe.customers.create({ email: 'grace@example.com', name: 'Grace Hopper' }));
  await other.customers.create({ email: 'ada@example.com', name: 'Ada of another merchant' });
  const pay = (amount: number, currency: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}) =>
    t.stripe.paymentIntents.create({ amount, currency, payment_method: 'pm_card_visa', confirm: true, ...extra });
  intents.push(await pay(1000, 'usd', { customer: customers[0]!.id, metadata: { order: 'ORD-1' } }));
  intents.push(await pay(5000, 'eur', { customer: customers[1]!.id }));
  intents.push(await pay(9000, 'usd', { payment_method: 'pm_card_mastercard', metadata: { order: 'ORD-3' } }));
  intents.push(await t.stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
  await t.stripe.refunds.create({ payment_intent: intents[1]!.id });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const ids = (result: { data: { id: string }[] }) => result.data.map((item) => item.id).sort();
const idsOf = (...items: { id: string }[]) => items.map((item) => item.id).sort();

describe('customers.search', () => {
  it('finds by exact email, ignoring case, and only the merchant’s own', async () => {
    const result = await t.stripe.customers.search({ query: 'email:"ADA@example.com"' });
    expect(ids(result)).toEqual(idsOf(customers[0]!));
    expect(result).toMatchObject({ object: 'search_result', url: '/v1/customers/search', has_more: false, next_page: null });
  });

  it('matches substrings, metadata, negation and OR', async () => {
    expect(ids(await t.stripe.customers.search({ query: "name~'ove'" }))).toEqual(idsOf(customers[0]!));
    expect(ids(await t.stripe.customers.search({ query: "metadata['tier']:'silver'" }))).toEqual(idsOf(customers[1]!));
    expect(ids(await t.stripe.customers.search({ query: "-email~'example.com'" }))).toEqual(idsOf(customers[1]!));
    expect(ids(await t.stripe.customers.search({ query: "name:'Grace Hopper' OR metadata['tier']:'gold'" }))).toEqual(idsOf(customers[0]!, customers[2]!));
    expect(ids(await t.stripe.customers.search({ query: "metadata['tier']:null" }))).toEqual(idsOf(customers[2]!));
  });

  it('pages with next_page, newest first', async () => {
    const first = await t.stripe.customers.search({ query: "email~'example'", limit: 2 });
    expect(first.has_more).toBe(true);
    expect(first.data.map((c) => c.id)).toEqual([customers[2]!.id, customers[1]!.id]);
    const second = await t.stripe.customers.search({ query: "email~'example'", limit: 2, page: first.next_page! });
    expect(second.data.map((c) => c.id)).toEqual([customers[0]!.id]);
    expect(second.has_more).toBe(false);
    const all: string[] = [];
    for await (const customer of t.stripe.customers.search({ query: "email~'example'", limit: 1 })) all.push(customer.id);
    expect(all.sort()).toEqual(idsOf(...customers));
  });
});

describe('paymentIntents.search and charges.search', () => {
  it('compares amounts and matches status, currency and customer', async () => {
    expect(ids(await t.stripe.paymentIntents.search({ query: "amount>=5000 AND currency:'usd'" }))).toEqual(idsOf(intents[2]!));
    expect(ids(await t.stripe.paymentIntents.search({ query: "status:'requires_payment_method'" }))).toEqual(idsOf(intents[3]!));
    expect(ids(await t.stripe.paymentIntents.search({ query: `customer:'${customers[1]!.id}'` }))).toEqual(idsOf(intents[1]!));
    expect(ids(await t.stripe.paymentIntents.search({ query: "metadata['order']~'ORD'" }))).toEqual(idsOf(intents[0]!, intents[2]!));
    const created = intents[0]!.created;
    expect((await t.stripe.paymentIntents.search({ query: `created<${created}` })).data).toEqual([]);
  });

  it('finds charges by card, refund state and intent; results are Stripe charges', async () => {
    const by_brand = await t.stripe.charges.search({ query: "payment_method_details.card.brand:'mastercard'" });
    expect(by_brand.data.map((c) => c.payment_intent)).toEqual([intents[2]!.id]);
    expect(stripeSchemaProblems('charge', by_brand.data[0])).toEqual([]);
    const refunded = await t.stripe.charges.search({ query: "refunded:'true'" });
    expect(refunded.data.map((c) => c.payment_intent)).toEqual([intents[1]!.id]);
    const last4 = await t.stripe.charges.search({ query: "payment_method_details.card.last4:'4242' AND amount<2000" });
    expect(last4.data.map((c) => c.payment_intent)).toEqual([intents[0]!.id]);
  });
});

describe('bad queries', () => {
  const search = (query: string) => t.stripe.customers.search({ query });
  const expectRefused = async (call: Promise<unknown>) => {
    const error = await rejection(call);
    expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'parameter_invalid', param: 'query' });
    return error;
  };

  it('refuses unknown fields, mixed AND/OR, short substrings and syntax errors, naming the query', async () => {
    await expectRefused(search("nickname:'x'"));
    await expectRefused(search("email:'a' AND name:'b' OR phone:'c'"));
    await expectRefused(search("name~'ab'"));
    await expectRefused(search("email:'unterminated"));
    await expectRefused(search('created>"yesterday"'));
    const eleven = Array.from({ length: 11 }, (_, i) => `email:'x${i}'`).join(' OR ');
    await expectRefused(search(eleven));
    await expectRefused(t.stripe.customers.search({ query: "email:'a'", page: 'bm90LWEtY3Vyc29y' }));
  });

  it('treats quotes and SQL in values as plain text', async () => {
    expect((await search(`email:"x' OR '1'='1"`)).data).toEqual([]);
    expect((await search(`name~"%%%"`)).data).toEqual([]);
    expect((await search(`metadata["tier') IS NOT NULL OR ('"]:'gold'`)).data).toEqual([]);
  });
});

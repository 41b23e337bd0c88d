import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' };

function card(overrides: Partial<typeof VISA> = {}): Stripe.PaymentMethodCreateParams {
  return { type: 'card', card: { ...VISA, ...overrides } };
}

describe('customers', () => {
  it('creates, retrieves, updates and deletes a customer', async () => {
    const created = await t.stripe.customers.create({ email: 'ada@example.com', name: 'Ada', metadata: { plan: 'pro', region: 'eu' } });
    expect(created).toMatchObject({ object: 'customer', email: 'ada@example.com', name: 'Ada', metadata: { plan: 'pro', region: 'eu' }, livemode: false });
    expect(created.id).toMatch(/^cus_/);
    expect(stripeSchemaProblems('customer', created)).toEqual([]);
    expect(await t.stripe.customers.retrieve(created.id)).toEqual(created);

    const updated = await t.stripe.customers.update(created.id, { name: 'Ada L.', phone: '+441234', metadata: { region: '', tier: 'gold' } });
    expect(updated).toMatchObject({ name: 'Ada L.', phone: '+441234', email: 'ada@example.com', metadata: { plan: 'pro', tier: 'gold' } });
    expect(updated.metadata).not.toHaveProperty('region');
    expect(updated.created).toBe(created.created);
    expect(stripeSchemaProblems('customer', updated)).toEqual([]);
    const cleared = await t.stripe.customers.update(created.id, { phone: '' });
    expect(cleared.phone).toBeNull();
    expect(await t.stripe.customers.retrieve(created.id)).toEqual(cleared);

    const deleted = await t.stripe.customers.del(created.id);
    expect(deleted).toMatchObject({ id: created.id, object: 'customer', deleted: true });
    // As on Stripe, a deleted customer still retrieves, as a stub saying so.
    expect(await t.stripe.customers.retrieve(created.id)).toEqual({ id: created.id, object: 'customer', deleted: true });
    expect((await rejection(t.stripe.customers.update(created.id, { name: 'x' }))).statusCode).toBe(404);
    expect((await rejection(t.stripe.customers.del(created.id))).statusCode).toBe(404);
  });

  it('lists customers newest first, filtered by email, without deleted ones', async () => {
    const email = `list-${Date.now()}@example.com`;
    const a = await t.stripe.customers.create({ email });
    const other = await t.stripe.customers.create({ email: `other-${email}` });
    const b = await t.stripe.customers.create({ email });
    const c = await t.stripe.customers.create({ email });
    await t.stripe.customers.del(b.id);

    const filtered = await t.stripe.customers.list({ email });
    expect(filtered.data.map((x) => x.id)).toEqual([c.id, a.id]);
    expect(filtered.has_more).toBe(false);
    for (const customer of filtered.data) expect(stripeSchemaProblems('customer', customer)).toEqual([]);

    const page = await t.stripe.customers.list({ limit: 2 });
    expect(page.data.map((x) => x.id)).toEqual([c.id, other.id]);
    expect(page.has_more).toBe(true);
  });

  it('answers concurrent updates of one customer with success or lock_timeout, never a server error', async () => {
    const customer = await t.stripe.customers.create({ metadata: { n: '0' } });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => t.stripe.customers.update(customer.id, { metadata: { [`k${i}`]: 'v' } })));
    const applied: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') applied.push(`k${i}`);
      else expect((r.reason as Stripe.errors.StripeError).code).toBe('lock_timeout');
    });
    expect(applied.length).toBeGreaterThanOrEqual(1);
    const after = (await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer;
    expect(Object.keys(after.metadata).sort()).toEqual(['n', ...applied].sort());
  });

  it('rejects an unknown parameter without creating anything', async () => {
    const before = (await t.stripe.customers.list({ limit: 100 })).data.length;
    const error = await rejection(t.stripe.customers.create({ email: 'x@example.com', nickname: 'x' } as Stripe.CustomerCreateParams));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('parameter_unknown');
    expect(error.param).toBe('nickname');
    expect((await t.stripe.customers.list({ limit: 100 })).data.length).toBe(before);
  });
});

describe('payment methods', () => {
  it('tokenizes a card: brand, last4, expiry and a stable fingerprint', async () => {
    const first = await t.stripe.paymentMethods.create({ ...card(), billing_details: { name: 'Ada', email: 'ada@example.com' }, metadata: { source: 'test' } });
    expect(first.id).toMatch(/^pm_/);
    expect(first.type).toBe('card');
    expect(first.card).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });
    expect(first.card?.fingerprint).toMatch(/^\w{8,}$/);
    expect(first.billing_details).toMatchObject({ name: 'Ada', email: 'ada@example.com' });
    expect(first.metadata).toEqual({ source: 'test' });
    expect(first.customer).toBeNull();
    expect(stripeSchemaProblems('payment_method', first)).toEqual([]);
    expect(JSON.stringify(first)).not.toContain(VISA.number);

    const second = await t.stripe.paymentMethods.create(card({ cvc: '999', exp_year: 2030 }));
    expect(second.id).not.toBe(first.id);
    expect(second.card?.fingerprint).toBe(first.card?.fingerprint);
    const mastercard = await t.stripe.paymentMethods.create(card({ number: '5555 5555 5555 4444' }));
    expect(mastercard.card).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect(mastercard.card?.fingerprint).not.toBe(first.card?.fingerprint);

    expect(await t.stripe.paymentMethods.retrieve(first.id)).toEqual(first);
    const other = await t.newMerchant();
    expect((await rejection(other.stripe.paymentMethods.retrieve(first.id))).statusCode).toBe(404);
    const elsewhere = await other.stripe.paymentMethods.create(card());
    expect(elsewhere.card?.fingerprint).not.toBe(first.card?.fingerprint);

    expect(t.logs.join('')).not.toContain(VISA.number);
  });

  it.each([
    ['a number failing the Luhn check', { number: '4242424242424241' }, 'incorrect_number', 'card[number]'],
    ['a number that is too short', { number: '4242' }, 'invalid_number', 'card[number]'],
    ['month 13', { exp_month: 13 }, 'invalid_expiry_month', 'card[exp_month]'],
    ['month 0', { exp_month: 0 }, 'invalid_expiry_month', 'card[exp_month]'],
    ['a past year', { exp_year: 2001 }, 'invalid_expiry_year', 'card[exp_year]'],
    ['a year too far ahead', { exp_year: 2999 }, 'invalid_expiry_year', 'card[exp_year]'],
    ['a short cvc', { cvc: '12' }, 'invalid_cvc', 'card[cvc]'],
  ] as const)('rejects %s as a card error', async (_label, overrides, code, param) => {
    const error = await rejection(t.stripe.paymentMethods.create(card(overrides)));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.statusCode).toBe(402);
    expect(error.code).toBe(code);
    expect(error.param).toBe(param);
    expect(error.message).not.toContain('4242');
  });

  it('attaches to a customer, lists for the customer, and detaches', async () => {
    const customer = await t.stripe.customers.create({ email: 'pm@example.com' });
    const first = await t.stripe.paymentMethods.create(card());
    const second = await t.stripe.paymentMethods.create(card({ number: '5555555555554444' }));
    expect((await t.stripe.customers.listPaymentMethods(customer.id, { type: 'card' })).data).toEqual([]);

    const attached = await t.stripe.paymentMethods.attach(first.id, { customer: customer.id });
    expect(attached.id).toBe(first.id);
    expect(attached.customer).toBe(customer.id);
    expect(stripeSchemaProblems('payment_method', attached)).toEqual([]);
    await t.stripe.paymentMethods.attach(second.id, { customer: customer.id });

    const listed = await t.stripe.customers.listPaymentMethods(customer.id, { type: 'card' });
    expect(listed.data.map((m) => m.id)).toEqual([second.id, first.id]);
    for (const method of listed.data) expect(method.customer).toBe(customer.id);
    const by_filter = await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card' });
    expect(by_filter.data.map((m) => m.id)).toEqual([second.id, first.id]);
    const paged = await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card', limit: 1 });
    expect(paged.data.map((m) => m.id)).toEqual([second.id]);
    expect(paged.has_more).toBe(true);
    expect((await t.stripe.paymentMethods.retrieve(first.id)).customer).toBe(customer.id);

    const someone_else = await t.stripe.customers.create({ email: 'else@example.com' });
    const taken = await rejection(t.stripe.paymentMethods.attach(first.id, { customer: someone_else.id }));
    expect(taken.statusCode).toBe(400);
    expect((await t.stripe.paymentMethods.retrieve(first.id)).customer).toBe(customer.id);

    const detached = await t.stripe.paymentMethods.detach(first.id);
    expect(detached.customer).toBeNull();
    expect((await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card' })).data.map((m) => m.id)).toEqual([second.id]);
    const again = await rejection(t.stripe.paymentMethods.detach(first.id));
    expect(again.statusCode).toBe(400);
    expect(again.code).toBe('payment_method_unexpected_state');
  });

  it('attaching pm_card_visa stores a new payment method for the customer', async () => {
    const customer = await t.stripe.customers.create({});
    const attached = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    expect(attached.id).toMatch(/^pm_/);
    expect(attached.id).not.toBe('pm_card_visa');
    expect(attached.customer).toBe(customer.id);
    expect(attached.card).toMatchObject({ brand: 'visa', last4: '4242' });
    const listed = await t.stripe.customers.listPaymentMethods(customer.id);
    expect(listed.data.map((m) => m.id)).toEqual([attached.id]);
    // The test id itself stays usable and unattached.
    expect((await t.stripe.paymentMethods.retrieve('pm_card_visa')).customer).toBeNull();

    const paid = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', customer: customer.id, payment_method: attached.id, confirm: true });
    expect(paid.status).toBe('succeeded');
    const charge = await t.stripe.charges.retrieve(chargeIdOf(paid));
    expect(charge.customer).toBe(customer.id);
    expect(charge.payment_method_details?.card?.fingerprint).toBe(attached.card?.fingerprint);
  });

  it('refuses to attach to a customer that does not exist or was deleted', async () => {
    const method = await t.stripe.paymentMethods.create(card());
    const missing = await rejection(t.stripe.paymentMethods.attach(method.id, { customer: 'cus_doesNotExist' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.param).toBe('customer');
    const customer = await t.stripe.customers.create({});
    await t.stripe.customers.del(customer.id);
    const deleted = await rejection(t.stripe.paymentMethods.attach(method.id, { customer: customer.id }));
    expect(deleted.statusCode).toBe(404);
    expect((await t.stripe.paymentMethods.retrieve(method.id)).customer).toBeNull();
    expect((await rejection(t.stripe.customers.listPaymentMethods(customer.id))).statusCode).toBe(404);
  });
});

describe('intents with customers', () => {
  it('expands customer, latest_charge and payment_method on retrieve', async () => {
    const customer = await t.stripe.customers.create({ email: 'expand@example.com', name: 'Expand' });
    const method = await t.stripe.paymentMethods.create(card());
    await t.stripe.paymentMethods.attach(method.id, { customer: customer.id });
    const intent = await t.stripe.paymentIntents.create({ amount: 4200, currency: 'usd', customer: customer.id, payment_method: method.id, confirm: true });
    expect(intent.customer).toBe(customer.id);

    const expanded = await t.stripe.paymentIntents.retrieve(intent.id, { expand: ['customer', 'latest_charge', 'payment_method'] });
    const expanded_customer = expanded.customer as Stripe.Customer;
    const expanded_charge = expanded.latest_charge as Stripe.Charge;
    const expanded_method = expanded.payment_method as Stripe.PaymentMethod;
    expect(expanded_customer).toMatchObject({ id: customer.id, object: 'customer', email: 'expand@example.com' });
    expect(expanded_charge).toMatchObject({ id: intent.latest_charge, object: 'charge', amount: 4200, customer: customer.id });
    expect(expanded_method).toMatchObject({ id: method.id, object: 'payment_method', customer: customer.id });
    expect(stripeSchemaProblems('customer', expanded_customer)).toEqual([]);
    expect(stripeSchemaProblems('charge', expanded_charge)).toEqual([]);
    expect(stripeSchemaProblems('payment_method', expanded_method)).toEqual([]);
    expect(stripeSchemaProblems('payment_intent', expanded)).toEqual([]);
  });

  it('accepts expand on create', async () => {
    const customer = await t.stripe.customers.create({});
    const intent = await t.stripe.paymentIntents.create({
      amount: 4300,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
      expand: ['customer', 'latest_charge', 'payment_method'],
    });
    expect(intent.status).toBe('succeeded');
    const customer_id = typeof intent.customer === 'string' ? intent.customer : intent.customer?.id;
    expect(customer_id).toBe(customer.id);
  });

  it('expands customer, latest_charge and payment_method on create', async () => {
    const customer = await t.stripe.customers.create({ email: 'expand-create@example.com' });
    const intent = await t.stripe.paymentIntents.create({
      amount: 4300,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
      expand: ['customer', 'latest_charge', 'payment_method'],
    });
    expect(intent.status).toBe('succeeded');
    expect(intent.customer).toMatchObject({ id: customer.id, object: 'customer' });
    expect(intent.latest_charge).toMatchObject({ object: 'charge', amount: 4300, status: 'succeeded' });
    expect(intent.payment_method).toMatchObject({ id: 'pm_card_visa', object: 'payment_method' });
  });

  it('rejects an intent for a missing customer, and filters intents by customer', async () => {
    const missing = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: 'cus_doesNotExist' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.param).toBe('customer');

    const customer = await t.stripe.customers.create({});
    const mine = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: customer.id });
    await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const charged = await t.stripe.paymentIntents.create({
      amount: 1100,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const listed = await t.stripe.paymentIntents.list({ customer: customer.id });
    expect(listed.data.map((i) => i.id)).toEqual([charged.id, mine.id]);
    const charges = await t.stripe.charges.list({ customer: customer.id });
    expect(charges.data.map((c) => c.id)).toEqual([charged.latest_charge]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

describe('metadata', () => {
  it('metadata="" deletes every key, as Stripe does', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { a: '1', b: '2' } });
    const cleared = await t.stripe.paymentIntents.update(intent.id, { metadata: '' });
    expect(cleared.metadata).toEqual({});
    const customer = await t.stripe.customers.create({ metadata: { tier: 'gold' } });
    expect((await t.stripe.customers.update(customer.id, { metadata: '' })).metadata).toEqual({});
  });

  it('a single key set to "" deletes only that key', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { a: '1', b: '2' } });
    expect((await t.stripe.paymentIntents.update(intent.id, { metadata: { a: '' } })).metadata).toEqual({ b: '2' });
  });
});

describe('payment method lists', () => {
  it('walk a customer’s cards both ways with starting_after and ending_before', async () => {
    const customer = await t.stripe.customers.create({ email: 'cards@example.com' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })).id);
    const newest_first = [...ids].reverse();
    const first = await t.stripe.customers.listPaymentMethods(customer.id, { limit: 2 });
    expect(first.data.map((pm) => pm.id)).toEqual(newest_first.slice(0, 2));
    expect(first.has_more).toBe(true);
    const second = await t.stripe.customers.listPaymentMethods(customer.id, { limit: 2, starting_after: newest_first[1] });
    expect(second.data.map((pm) => pm.id)).toEqual(newest_first.slice(2, 4));
    const back = await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card', limit: 2, ending_before: newest_first[2] });
    expect(back.data.map((pm) => pm.id)).toEqual(newest_first.slice(0, 2));
  });
});

describe('event lists', () => {
  it('filter by several types with types[]', async () => {
    const customer = await t.stripe.customers.create({ email: 'types@example.com' });
    const intent = await t.stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const events = await t.stripe.events.list({ types: ['customer.created', 'charge.succeeded'], limit: 100 });
    const types = new Set(events.data.map((event) => event.type));
    expect([...types].sort()).toEqual(['charge.succeeded', 'customer.created']);
    expect(events.data.some((event) => (event.data.object as { payment_intent?: string }).payment_intent === intent.id)).toBe(true);
  });
});

describe('expanding a deleted customer', () => {
  it('gives Stripe’s deleted stub instead of failing the request', async () => {
    const customer = await t.stripe.customers.create({ email: 'gone@example.com' });
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: customer.id });
    await t.stripe.customers.del(customer.id);
    const expanded = await t.stripe.paymentIntents.retrieve(intent.id, { expand: ['customer'] });
    expect(expanded.customer).toEqual({ id: customer.id, object: 'customer', deleted: true });
  });
});

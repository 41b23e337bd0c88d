import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Deleting a test clock, through the official SDK: as on Stripe, the clock's customers are deleted
 * and their subscriptions end with it (`customer.deleted`, `customer.subscription.deleted`), while a
 * customer and subscription on no clock are left alone.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const START = Date.UTC(2026, 2, 1, 12) / 1000;

async function eventsFor(type: string, object_id: string): Promise<Stripe.Event[]> {
  const found = await t.stripe.events.list({ type, limit: 100 });
  return found.data.filter((event) => (event.data.object as { id: string }).id === object_id);
}

describe('deleting a test clock', () => {
  it('deletes its customers and cancels their subscriptions, and nothing else', { timeout: 60_000 }, async () => {
    const product = await t.stripe.products.create({ name: 'Clock plan' });
    const price = await t.stripe.prices.create({ product: product.id, unit_amount: 1_500, currency: 'usd', recurring: { interval: 'month' } });
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: START });
    const on_clock = await t.stripe.customers.create({
      test_clock: clock.id,
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const subscription = await t.stripe.subscriptions.create({ customer: on_clock.id, items: [{ price: price.id }], trial_period_days: 7 });
    const elsewhere = await t.stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const kept = await t.stripe.subscriptions.create({ customer: elsewhere.id, items: [{ price: price.id }], trial_period_days: 7 });

    expect(await t.stripe.testHelpers.testClocks.del(clock.id)).toEqual({ id: clock.id, object: 'test_helpers.test_clock', deleted: true });

    expect(await t.stripe.customers.retrieve(on_clock.id)).toEqual({ id: on_clock.id, object: 'customer', deleted: true });
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({ status: 'canceled', canceled_at: START, ended_at: START });
    expect(await eventsFor('customer.deleted', on_clock.id)).toHaveLength(1);
    const [ended] = await eventsFor('customer.subscription.deleted', subscription.id);
    expect(ended?.data.object).toMatchObject({ id: subscription.id, status: 'canceled' });

    const live = await t.stripe.customers.retrieve(elsewhere.id);
    expect(live).toMatchObject({ id: elsewhere.id, object: 'customer', test_clock: null });
    expect('deleted' in live).toBe(false);
    expect(await t.stripe.subscriptions.retrieve(kept.id)).toMatchObject({ status: 'trialing', canceled_at: null });
    await expect(t.stripe.testHelpers.testClocks.retrieve(clock.id)).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

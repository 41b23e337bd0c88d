import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Subscriptions under retries and races: a creation retried with its Idempotency-Key (at once, and in
 * parallel) makes one subscription and charges once; updates racing on one subscription each apply to
 * a version of their own, and what their prorations bill adds up to the net change, never a change
 * billed twice or lost.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

async function setup(unit_amount: number): Promise<{ price: Stripe.Price; customer: Stripe.Customer }> {
  const price = await t.stripe.prices.create({ currency: 'usd', unit_amount, recurring: { interval: 'month' }, product_data: { name: 'Seats' } });
  const customer = await t.stripe.customers.create({ email: 'ada@example.com' });
  const method = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
  return { price, customer };
}

async function count(sql: string, values: unknown[]): Promise<number> {
  return Number((await t.owner.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
}

describe('subscriptions: retries and races', () => {
  it('makes one subscription and one charge for a key sent five times at once, then again', async () => {
    const { price, customer } = await setup(2000);
    const params = { customer: customer.id, items: [{ price: price.id }] };
    const key = `sub-create-${customer.id}`;
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => t.stripe.subscriptions.create(params, { idempotencyKey: key })));
    const ids = new Set(answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value.id] : [])));
    // Requests that found the key in flight are told so (409), never given a second subscription.
    for (const answer of answers) if (answer.status === 'rejected') expect((answer.reason as Stripe.errors.StripeError).statusCode).toBe(409);
    const again = await t.stripe.subscriptions.create(params, { idempotencyKey: key });
    expect(again.status).toBe('active');
    expect([...ids].every((id) => id === again.id)).toBe(true);
    expect(await count('SELECT count(*) AS n FROM billing.subscriptions WHERE customer_id = $1', [customer.id])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM billing.invoices WHERE customer_id = $1', [customer.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM payments.charges WHERE customer_id = $1 AND status = 'succeeded'`, [customer.id])).toBe(1);
  });

  it('bills racing quantity changes exactly their net change', async () => {
    const { price, customer } = await setup(3100);
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const item = subscription.items.data[0]!;
    const midway = subscription.current_period_start + (subscription.current_period_end - subscription.current_period_start) / 2;
    const change = (quantity: number) =>
      t.stripe.subscriptions.update(subscription.id, { items: [{ id: item.id, quantity }], proration_behavior: 'always_invoice', proration_date: midway });
    const results = await Promise.allSettled([change(2), change(3), change(4)]);
    for (const result of results) if (result.status === 'rejected') expect((result.reason as Stripe.errors.StripeError).statusCode).toBe(409);
    const final = await t.stripe.subscriptions.retrieve(subscription.id);
    const quantity = final.items.data[0]!.quantity!;
    expect([2, 3, 4]).toContain(quantity);
    const invoices = await t.stripe.invoices.list({ subscription: subscription.id, limit: 100 });
    const updates = invoices.data.filter((invoice) => invoice.billing_reason === 'subscription_update');
    // Half a period of each unit added: 1550 per unit, from 1 unit to the final quantity.
    expect(updates.reduce((sum, invoice) => sum + invoice.total, 0)).toBe(1550 * (quantity - 1));
    expect(updates.every((invoice) => invoice.status === 'paid')).toBe(true);
  });
});

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

/** A succeeded, captured payment; returns the intent and its charge id. */
async function paid(amount: number): Promise<{ intent: Stripe.PaymentIntent; charge: string }> {
  const intent = await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  expect(intent.status).toBe('succeeded');
  return { intent, charge: chargeIdOf(intent) };
}

async function refundsOf(charge: string): Promise<Stripe.Refund[]> {
  return (await t.stripe.refunds.list({ charge, limit: 100 })).data;
}

describe('refunds', () => {
  it('refunds a whole charge by default, and not a second time', async () => {
    const { intent, charge } = await paid(2000);
    const refund = await t.stripe.refunds.create({ charge, reason: 'requested_by_customer', metadata: { ticket: 'T-1' } });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 2000,
      currency: 'usd',
      status: 'succeeded',
      charge,
      payment_intent: intent.id,
      reason: 'requested_by_customer',
      metadata: { ticket: 'T-1' },
    });
    expect(refund.id).toMatch(/^re_/);
    expect(stripeSchemaProblems('refund', refund)).toEqual([]);

    const after = await t.stripe.charges.retrieve(charge);
    expect(after.amount_refunded).toBe(2000);
    expect(after.refunded).toBe(true);
    expect(after.refunds?.data.map((r) => r.id)).toEqual([refund.id]);
    expect(stripeSchemaProblems('charge', after)).toEqual([]);
    // The intent stays succeeded with what it received: refunds live on the charge.
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).amount_received).toBe(2000);

    const again = await rejection(t.stripe.refunds.create({ charge }));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again.statusCode).toBe(400);
    expect(again.code).toBe('charge_already_refunded');
    expect(await refundsOf(charge)).toHaveLength(1);
  });

  it('adds partial refunds up to the captured amount, then marks the charge refunded', async () => {
    const { charge } = await paid(1000);
    const amounts = [300, 250, 450];
    let total = 0;
    for (const amount of amounts) {
      const refund = await t.stripe.refunds.create({ charge, amount });
      expect(refund.amount).toBe(amount);
      total += amount;
      const current = await t.stripe.charges.retrieve(charge);
      expect(current.amount_refunded).toBe(total);
      expect(current.refunded).toBe(total === 1000);
    }
    const refunds = await refundsOf(charge);
    expect(refunds.map((r) => r.amount)).toEqual([...amounts].reverse());
    expect((await t.stripe.charges.retrieve(charge)).refunds?.data).toHaveLength(3);
    const more = await rejection(t.stripe.refunds.create({ charge, amount: 1 }));
    expect(more.code).toBe('charge_already_refunded');
  });

  it('refuses to refund more than is left, and stores nothing', async () => {
    const { charge } = await paid(1000);
    await t.stripe.refunds.create({ charge, amount: 600 });
    const error = await rejection(t.stripe.refunds.create({ charge, amount: 401 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('amount');
    const after = await t.stripe.charges.retrieve(charge);
    expect(after.amount_refunded).toBe(600);
    expect(after.refunded).toBe(false);
    expect(await refundsOf(charge)).toHaveLength(1);

    const zero = await rejection(t.stripe.refunds.create({ charge, amount: 0 }));
    expect(zero.statusCode).toBe(400);
    expect(zero.param).toBe('amount');
    expect((await t.stripe.refunds.create({ charge, amount: 400 })).amount).toBe(400);
    expect((await t.stripe.charges.retrieve(charge)).refunded).toBe(true);
  });

  it('refuses to refund an authorization that was never captured', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    expect(held.status).toBe('requires_capture');
    const by_intent = await rejection(t.stripe.refunds.create({ payment_intent: held.id }));
    expect(by_intent.statusCode).toBe(400);
    expect(by_intent.code).toBe('charge_not_captured');
    const by_charge = await rejection(t.stripe.refunds.create({ charge: chargeIdOf(held), amount: 100 }));
    expect(by_charge.code).toBe('charge_not_captured');
    expect(await refundsOf(chargeIdOf(held))).toHaveLength(0);
    expect((await t.stripe.charges.retrieve(chargeIdOf(held))).amount_refunded).toBe(0);
  });

  it('refuses to refund a declined payment and an intent without a charge', async () => {
    const declined = await rejection(
      t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    );
    const failed = await rejection(t.stripe.refunds.create({ payment_intent: String(declined.payment_intent?.id) }));
    expect(failed.statusCode).toBe(400);
    expect(failed.code).toBe('charge_not_captured');
    const fresh = await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd' });
    const nothing = await rejection(t.stripe.refunds.create({ payment_intent: fresh.id }));
    expect(nothing.statusCode).toBe(400);
    const missing = await rejection(t.stripe.refunds.create({ charge: 'ch_doesNotExist' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
    expect(missing.param).toBe('charge');
  });

  it('refunds by payment_intent, including a partially captured one', async () => {
    const { intent, charge } = await paid(1800);
    const refund = await t.stripe.refunds.create({ payment_intent: intent.id, amount: 800 });
    expect(refund.charge).toBe(charge);
    expect(refund.payment_intent).toBe(intent.id);
    expect((await t.stripe.charges.retrieve(charge)).amount_refunded).toBe(800);

    const held = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    await t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 3000 });
    const rest = await t.stripe.refunds.create({ payment_intent: held.id });
    expect(rest.amount).toBe(3000);
    const partial = await t.stripe.charges.retrieve(chargeIdOf(held));
    expect(partial.amount_captured).toBe(3000);
    expect(partial.amount_refunded).toBe(3000);
    expect(partial.refunded).toBe(true);
    const beyond = await rejection(t.stripe.refunds.create({ payment_intent: held.id, amount: 1 }));
    expect(beyond.statusCode).toBe(400);
  });

  it('requires exactly one of charge and payment_intent', async () => {
    const { intent, charge } = await paid(1000);
    const both = await rejection(t.stripe.refunds.create({ charge, payment_intent: intent.id }));
    expect(both.statusCode).toBe(400);
    const neither = await rejection(t.stripe.refunds.create({ amount: 100 }));
    expect(neither.statusCode).toBe(400);
    expect(neither.code).toBe('parameter_missing');
    expect(await refundsOf(charge)).toHaveLength(0);
  });

  it('never refunds more than was captured when refunds race', async () => {
    const { charge } = await paid(1000);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => t.stripe.refunds.create({ charge, amount: 250 })));
    const succeeded = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value as Stripe.Refund] : []));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Stripe.errors.StripeError);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    for (const error of failed) {
      expect(error).toBeInstanceOf(Stripe.errors.StripeError);
      expect([409, 400]).toContain(error.statusCode);
      expect(['lock_timeout', 'amount_too_large', 'charge_already_refunded']).toContain(error.code);
    }
    const refunded_sum = succeeded.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0);
    expect(refunded_sum).toBeLessThanOrEqual(1000);

    const stored = await refundsOf(charge);
    expect(stored.map((r) => r.id).sort()).toEqual(succeeded.map((r) => r.id).sort());
    const stored_sum = stored.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0);
    expect(stored_sum).toBe(refunded_sum);
    const after = await t.stripe.charges.retrieve(charge);
    expect(after.amount_refunded).toBe(stored_sum);

    // Whatever the race left, the remainder is still refundable, exactly once.
    if (stored_sum < 1000) expect((await t.stripe.refunds.create({ charge })).amount).toBe(1000 - stored_sum);
    expect((await rejection(t.stripe.refunds.create({ charge }))).code).toBe('charge_already_refunded');
    expect((await t.stripe.charges.retrieve(charge)).amount_refunded).toBe(1000);
  });
});

describe('listing and retrieving refunds', () => {
  it('retrieves a refund and lists refunds by charge and by payment intent, newest first', async () => {
    const { intent, charge } = await paid(3000);
    const first = await t.stripe.refunds.create({ charge, amount: 1000 });
    const second = await t.stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    const other = await paid(1000);
    const unrelated = await t.stripe.refunds.create({ charge: other.charge });

    const retrieved = await t.stripe.refunds.retrieve(first.id);
    expect(retrieved).toEqual(first);
    expect(stripeSchemaProblems('refund', retrieved)).toEqual([]);

    const by_charge = await t.stripe.refunds.list({ charge });
    expect(by_charge.data.map((r) => r.id)).toEqual([second.id, first.id]);
    const by_intent = await t.stripe.refunds.list({ payment_intent: intent.id });
    expect(by_intent.data.map((r) => r.id)).toEqual([second.id, first.id]);
    for (const refund of by_intent.data) expect(stripeSchemaProblems('refund', refund)).toEqual([]);

    const all = await t.stripe.refunds.list({ limit: 2 });
    expect(all.has_more).toBe(true);
    expect(all.data.map((r) => r.id)).toEqual([unrelated.id, second.id]);
    const next = await t.stripe.refunds.list({ limit: 2, starting_after: second.id });
    expect(next.data[0]?.id).toBe(first.id);

    const missing = await rejection(t.stripe.refunds.retrieve('re_doesNotExist'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
  });

  it("does not show one merchant another merchant's refunds", async () => {
    const { charge } = await paid(1000);
    const refund = await t.stripe.refunds.create({ charge, amount: 100 });
    const other = await t.newMerchant();
    expect((await rejection(other.stripe.refunds.retrieve(refund.id))).statusCode).toBe(404);
    expect((await rejection(other.stripe.refunds.create({ charge }))).statusCode).toBe(404);
    expect((await other.stripe.refunds.list({ charge })).data).toHaveLength(0);
    expect((await t.stripe.charges.retrieve(charge)).amount_refunded).toBe(100);
  });
});

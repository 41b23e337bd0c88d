import type StripeLatest from 'stripe-latest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { latestStripeClient } from '../support/stripe-latest.js';

/**
 * The newest stripe-node (devDependency alias `stripe-latest`) through the flow every integration
 * runs; the rest of the e2e suite uses the pinned SDK. The client pins Payrail's API version, as an
 * integration written against Payrail would.
 */
let t: TestPlatform;
let stripe: StripeLatest;
beforeAll(async () => {
  t = await startTestPlatform();
  stripe = latestStripeClient(t.url, t.secret_key);
});
afterAll(async () => {
  await t?.stop();
});

describe('the newest stripe-node against Payrail', () => {
  it('pays, captures part of an authorization and refunds', async () => {
    const customer = await stripe.customers.create({ email: 'latest@example.com', metadata: { plan: 'pro' } });
    const paid = await stripe.paymentIntents.create({ amount: 2500, currency: 'eur', customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    expect(paid.status).toBe('succeeded');
    const authorized = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    const captured = await stripe.paymentIntents.capture(authorized.id, { amount_to_capture: 1000 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1000 });
    const refund = await stripe.refunds.create({ payment_intent: paid.id, amount: 500 });
    expect(refund).toMatchObject({ status: 'succeeded', amount: 500 });
    const listed = await stripe.paymentIntents.list({ customer: customer.id });
    expect(listed.data.map((intent) => intent.id)).toEqual([paid.id]);
  });

  it('raises StripeCardError with the decline code', async () => {
    const declined = stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true });
    await expect(declined).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined', decline_code: 'generic_decline', statusCode: 402 });
  });

  it('replays a create sent twice with one Idempotency-Key', async () => {
    const params = { amount: 900, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'latest-sdk-replay' });
    const replay = await stripe.paymentIntents.create(params, { idempotencyKey: 'latest-sdk-replay' });
    expect(replay.id).toBe(first.id);
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data.filter((intent) => intent.amount === 900)).toHaveLength(1);
  });

  it('pages through a list with auto-pagination', async () => {
    for (let i = 0; i < 5; i += 1) await stripe.customers.create({ email: `page-${i}@example.com` });
    const emails: string[] = [];
    for await (const customer of stripe.customers.list({ limit: 2 })) emails.push(customer.email ?? '');
    expect(emails.filter((email) => email.startsWith('page-')).sort()).toEqual([
      'page-0@example.com',
      'page-1@example.com',
      'page-2@example.com',
      'page-3@example.com',
      'page-4@example.com',
    ]);
  });
});

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

describe('automatic capture with the official SDK', () => {
  it('confirms a payment with pm_card_visa and records one succeeded charge', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(2000);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.captured).toBe(true);
    expect(charge.payment_method_details?.card?.last4).toBe('4242');
  });
});

import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';

describe('response shapes', () => {
  it('payment intent, charge and event match Stripe schemas', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: 'eur',
      payment_method: 'pm_card_mastercard',
      confirm: true,
      metadata: { order: '42' },
    });
    expect(stripeSchemaProblems('payment_intent', intent)).toEqual([]);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    const events = await t.stripe.events.list({ limit: 3 });
    for (const event of events.data) expect(stripeSchemaProblems('event', event)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

let t: TestPlatform;
beforeAll(async () => { t = await startTestPlatform(); });
afterAll(async () => { await t?.stop(); });

describe('automatic capture with the official SDK', () => {
  it('confirms a payment with pm_card_visa and records one succeeded charge', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(2000);
    const charge = await t.stripe.charges.retrieve(String(intent.latest_charge));
    expect(charge.captured).toBe(true);
    expect(charge.payment_method_details?.card?.last4).toBe('4242');
  });
});

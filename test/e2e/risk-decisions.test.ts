import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { apiRequest } from '../support/api-request.js';
import { DEFAULT_RULE_ID } from '../../src/services/risk/index.js';
import { freshMerchant, ruleAdmin } from '../support/risk.js';

/**
 * Every confirm is scored and judged by the merchant's Radar rules before the processor hears of it,
 * through the official SDK: Stripe's risk test cards, the default block rule and disabling it, and
 * the outcome fields Stripe reports on the charge.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function declinedCharge(stripe: Stripe, payment_method: string): Promise<{ error: Stripe.errors.StripeError; charge: Stripe.Charge }> {
  const error = await rejection(stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method, confirm: true }));
  const charge_id = (error.raw as { charge?: string }).charge;
  expect(charge_id).toMatch(/^ch_/);
  return { error, charge: await stripe.charges.retrieve(charge_id ?? '') };
}

describe("Stripe's risk test cards", () => {
  it('pm_card_chargeDeclinedFraudulent is blocked before the processor: card_declined, decline_code fraudulent', async () => {
    const { error, charge } = await declinedCharge(t.stripe, 'pm_card_chargeDeclinedFraudulent');
    expect(error.statusCode).toBe(402);
    expect(error.type).toBe('StripeCardError');
    expect(error.code).toBe('card_declined');
    expect(error.decline_code).toBe('fraudulent');
    expect(charge.status).toBe('failed');
    expect(charge.outcome).toMatchObject({
      type: 'blocked',
      network_status: 'not_sent_to_network',
      reason: 'highest_risk_level',
      risk_level: 'highest',
      seller_message: 'Payrail blocked this payment as too risky.',
      rule: DEFAULT_RULE_ID,
    });
    expect(charge.outcome?.risk_score).toBeGreaterThanOrEqual(75);
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    // Never sent: the sandbox processor has no record of the attempt.
    const sent = await t.owner.query('SELECT 1 FROM sandbox.attempts WHERE attempt_id = $1', [charge.id]);
    expect(sent.rowCount).toBe(0);
  });

  it('pm_card_riskLevelHighest is blocked by the default rule, named on the outcome', async () => {
    const { error, charge } = await declinedCharge(t.stripe, 'pm_card_riskLevelHighest');
    expect(error.decline_code).toBe('fraudulent');
    expect(charge.outcome).toMatchObject({ type: 'blocked', reason: 'highest_risk_level', risk_level: 'highest', rule: DEFAULT_RULE_ID });
  });

  it('pm_card_riskLevelElevated is authorized at elevated risk', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_riskLevelElevated', confirm: true });
    expect(intent.status).toBe('succeeded');
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({
      type: 'authorized',
      risk_level: 'elevated',
      network_status: 'approved_by_network',
      seller_message: 'Payment complete.',
    });
    expect(charge.outcome?.risk_score).toBeGreaterThanOrEqual(65);
    expect(charge.outcome?.risk_score).toBeLessThan(75);
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
  });

  it('an ordinary card is scored by the model: a score from 0 to 100 and its level', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome?.type).toBe('authorized');
    expect(charge.outcome?.reason).toBeNull();
    expect(charge.outcome?.rule).toBeUndefined();
    expect(Number.isInteger(charge.outcome?.risk_score)).toBe(true);
    expect(['normal', 'elevated', 'highest']).toContain(charge.outcome?.risk_level);
  });

  it('tok_chargeDeclinedFraudulent blocks a legacy charge too', async () => {
    const error = await rejection(t.stripe.charges.create({ amount: 2000, currency: 'usd', source: 'tok_chargeDeclinedFraudulent' }));
    expect(error.code).toBe('card_declined');
    expect(error.decline_code).toBe('fraudulent');
  });
});

describe('disabling the default rule', () => {
  it('lets pm_card_riskLevelHighest through to the issuer; pm_card_chargeDeclinedFraudulent stays blocked', async () => {
    const merchant = await freshMerchant(t);
    await ruleAdmin(t).disableDefault(merchant.merchant_id);
    const intent = await merchant.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_riskLevelHighest', confirm: true });
    expect(intent.status).toBe('succeeded');
    const charge = await merchant.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({ type: 'authorized', risk_level: 'highest', network_status: 'approved_by_network', reason: null });
    const { error, charge: blocked } = await declinedCharge(merchant.stripe, 'pm_card_chargeDeclinedFraudulent');
    expect(error.decline_code).toBe('fraudulent');
    expect(blocked.outcome).toMatchObject({ type: 'blocked', reason: 'highest_risk_level' });
    expect(blocked.outcome?.rule).toBeUndefined();
  });
});

describe("a merchant's rules", () => {
  it('a Block rule blocks with reason rule and names the rule', async () => {
    const merchant = await freshMerchant(t);
    const rule = await ruleAdmin(t).add(merchant.merchant_id, 'Block if :amount_in_usd: > 900');
    const error = await rejection(merchant.stripe.paymentIntents.create({ amount: 95_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }));
    expect(error.decline_code).toBe('fraudulent');
    const charge = await merchant.stripe.charges.retrieve((error.raw as { charge?: string }).charge ?? '', { expand: [] });
    expect(charge.outcome).toMatchObject({
      type: 'blocked',
      reason: 'rule',
      rule: rule.id,
      seller_message: 'Payrail blocked this payment because it matched a rule.',
    });
    // Below the rule's amount the same card is authorized: the rule, not the card, blocked it.
    const small = await merchant.stripe.paymentIntents.create({ amount: 5_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(small.status).toBe('succeeded');
  });

  it("expand[]=outcome.rule gives Stripe's rule object: id, action and predicate", async () => {
    const merchant = await freshMerchant(t);
    const rule = await ruleAdmin(t).add(merchant.merchant_id, "Review if :card_brand: = 'visa'");
    const intent = await merchant.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = await merchant.stripe.charges.retrieve(chargeIdOf(intent), { expand: ['outcome.rule'] });
    expect(charge.outcome?.rule).toEqual({ id: rule.id, action: 'review', predicate: ":card_brand: = 'visa'" });
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    const expanded = await merchant.stripe.paymentIntents.retrieve(intent.id, { expand: ['latest_charge.outcome.rule'] });
    expect((expanded.latest_charge as Stripe.Charge).outcome?.rule).toEqual({ id: rule.id, action: 'review', predicate: ":card_brand: = 'visa'" });
    const blocked = await rejection(
      merchant.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_riskLevelHighest', confirm: true }),
    );
    const by_default = await merchant.stripe.charges.retrieve((blocked.raw as { charge?: string }).charge ?? '', { expand: ['outcome.rule'] });
    expect(by_default.outcome?.rule).toEqual({ id: DEFAULT_RULE_ID, action: 'block', predicate: ":risk_level: = 'highest'" });
    // Unexpanded it stays the id, as Stripe's; a path past the rule is refused.
    expect((await merchant.stripe.charges.retrieve(chargeIdOf(intent))).outcome?.rule).toBe(rule.id);
    expect((await rejection(merchant.stripe.charges.retrieve(chargeIdOf(intent), { expand: ['outcome.rule.id'] }))).code).toBe('parameter_invalid');
  });

  it('an Allow rule authorizes with reason rule; it cannot let pm_card_chargeDeclinedFraudulent through', async () => {
    const merchant = await freshMerchant(t);
    const rule = await ruleAdmin(t).add(merchant.merchant_id, "Allow if :card_brand: = 'visa'");
    const intent = await merchant.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_riskLevelHighest', confirm: true });
    const charge = await merchant.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({ type: 'authorized', reason: 'rule', rule: rule.id, risk_level: 'highest' });
    const { charge: blocked } = await declinedCharge(merchant.stripe, 'pm_card_chargeDeclinedFraudulent');
    expect(blocked.outcome?.type).toBe('blocked');
  });

  it('a Request 3D Secure rule sends a card that needs no authentication through 3-D Secure', async () => {
    const merchant = await freshMerchant(t);
    const rule = await ruleAdmin(t).add(merchant.merchant_id, 'Request 3D Secure if :amount_in_usd: > 400');
    const intent = await merchant.stripe.paymentIntents.create({
      amount: 45_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      return_url: 'https://shop.example/done',
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.type).toBe('redirect_to_url');
    expect(intent.next_action?.redirect_to_url?.url).toContain(`/v1/test_helpers/payment_intents/${intent.id}/authenticate`);
    const done = await apiRequest<Stripe.PaymentIntent>(t.url, merchant.secret_key, `/v1/test_helpers/payment_intents/${intent.id}/authenticate`, {
      form: 'outcome=succeeded',
    });
    expect(done.body.status).toBe('succeeded');
    const charge = await merchant.stripe.charges.retrieve(chargeIdOf(done.body));
    expect(charge.outcome).toMatchObject({ type: 'authorized', reason: 'rule', rule: rule.id });
  });
});

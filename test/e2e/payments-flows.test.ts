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

function expectShape(name: 'payment_intent' | 'charge', object: unknown): void {
  expect(stripeSchemaProblems(name, object)).toEqual([]);
}

/** Calls the 3-D Secure test helper, which this SDK version has no method for. */
async function authenticate(intent_id: string, outcome: 'succeeded' | 'failed'): Promise<{ status: number; body: Stripe.PaymentIntent }> {
  const response = await fetch(`${t.url}/v1/test_helpers/payment_intents/${intent_id}/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Stripe.PaymentIntent };
}

const DECLINING_LAST4: Record<string, string> = {
  pm_card_chargeDeclined: '0002',
  pm_card_visa_chargeDeclinedInsufficientFunds: '9995',
  pm_card_visa_chargeDeclinedLostCard: '9987',
  pm_card_visa_chargeDeclinedStolenCard: '9979',
  pm_card_chargeDeclinedExpiredCard: '0069',
  pm_card_chargeDeclinedIncorrectCvc: '0127',
  pm_card_chargeDeclinedProcessingError: '0119',
};

async function chargesOf(intent_id: string): Promise<Stripe.Charge[]> {
  return (await t.stripe.charges.list({ payment_intent: intent_id, limit: 100 })).data;
}

describe('capture', () => {
  it('captures automatically: succeeded, amount_received, one captured charge', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(2000);
    expect(intent.amount_capturable).toBe(0);
    expect(intent.capture_method).toBe('automatic');
    expectShape('payment_intent', intent);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge).toMatchObject({
      status: 'succeeded',
      paid: true,
      captured: true,
      amount: 2000,
      amount_captured: 2000,
      amount_refunded: 0,
      payment_intent: intent.id,
    });
    expect(charge.payment_method_details?.card?.brand).toBe('visa');
    expect(charge.payment_method_details?.card?.checks?.cvc_check).toBe('pass');
    expectShape('charge', charge);
    expect(await chargesOf(intent.id)).toHaveLength(1);
  });

  it('holds a manual-capture payment in requires_capture, then captures it in full', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    expect(held.status).toBe('requires_capture');
    expect(held.amount_capturable).toBe(5000);
    expect(held.amount_received).toBe(0);
    expectShape('payment_intent', held);
    const authorized = await t.stripe.charges.retrieve(chargeIdOf(held));
    expect(authorized).toMatchObject({ status: 'succeeded', captured: false, amount_captured: 0, paid: true });
    expectShape('charge', authorized);

    const captured = await t.stripe.paymentIntents.capture(held.id);
    expect(captured.status).toBe('succeeded');
    expect(captured.amount_received).toBe(5000);
    expect(captured.amount_capturable).toBe(0);
    expect(captured.latest_charge).toBe(held.latest_charge);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(captured));
    expect(charge).toMatchObject({ captured: true, amount_captured: 5000 });

    const again = await rejection(t.stripe.paymentIntents.capture(held.id));
    expect(again.statusCode).toBe(400);
    expect(again.code).toBe('payment_intent_unexpected_state');
  });

  it('captures part of an authorization with amount_to_capture', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_mastercard',
      confirm: true,
      capture_method: 'manual',
    });
    const captured = await t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 3200 });
    expect(captured.status).toBe('succeeded');
    expect(captured.amount).toBe(5000);
    expect(captured.amount_received).toBe(3200);
    expect(captured.amount_capturable).toBe(0);
    expectShape('payment_intent', captured);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(captured));
    expect(charge.amount).toBe(5000);
    expect(charge.amount_captured).toBe(3200);
    expect(charge.captured).toBe(true);
    expectShape('charge', charge);
  });

  it('refuses to capture more than is capturable, and changes nothing', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const error = await rejection(t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 1001 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('amount_to_capture');
    const after = await t.stripe.paymentIntents.retrieve(held.id);
    expect(after.status).toBe('requires_capture');
    expect(after.amount_capturable).toBe(1000);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(held));
    expect(charge.captured).toBe(false);
    expect((await t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 1000 })).amount_received).toBe(1000);
  });

  it('refuses to capture nothing', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const error = await rejection(t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 0 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('amount_to_capture');
    expect((await t.stripe.paymentIntents.retrieve(held.id)).status).toBe('requires_capture');
  });

  it('captures once when captures race', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 600 })));
    const succeeded = results.filter((r) => r.status === 'fulfilled');
    expect(succeeded).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(['lock_timeout', 'payment_intent_unexpected_state']).toContain((r.reason as Stripe.errors.StripeError).code);
    }
    const charge = await t.stripe.charges.retrieve(chargeIdOf(held));
    expect(charge.amount_captured).toBe(600);
    expect((await t.stripe.paymentIntents.retrieve(held.id)).amount_received).toBe(600);
  });

  it('refuses to capture an automatic-capture intent', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const error = await rejection(t.stripe.paymentIntents.capture(intent.id));
    expect(error.code).toBe('payment_intent_unexpected_state');
    expect(error.statusCode).toBe(400);
  });
});

describe('test cards', () => {
  it.each([
    ['pm_card_visa', 'visa', '4242'],
    ['pm_card_mastercard', 'mastercard', '4444'],
  ])('%s succeeds', async (pm, brand, last4) => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1234, currency: 'usd', payment_method: pm, confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(intent.last_payment_error).toBeNull();
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.payment_method_details?.card).toMatchObject({ brand, last4 });
    expect(charge.outcome).toMatchObject({ network_status: 'approved_by_network', type: 'authorized' });
    expect(charge.failure_code).toBeNull();
  });

  const declines: Array<[string, string, string]> = [
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_visa_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_visa_chargeDeclinedLostCard', 'card_declined', 'lost_card'],
    ['pm_card_visa_chargeDeclinedStolenCard', 'card_declined', 'stolen_card'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
  ];

  it.each(declines)('%s declines with %s / %s', async (pm, code, decline_code) => {
    const error = await rejection(t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: pm, confirm: true }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.statusCode).toBe(402);
    expect(error.code).toBe(code);
    expect(error.decline_code).toBe(decline_code);
    const failed_intent = error.payment_intent;
    expect(failed_intent?.status).toBe('requires_payment_method');
    expect(typeof error.raw).toBe('object');
    expect((error.raw as { charge?: string }).charge).toMatch(/^ch_/);
    expect(error.payment_method?.id).toBe(pm);
    expect(error.payment_intent?.last_payment_error?.decline_code).toBe(decline_code);

    const intent = await t.stripe.paymentIntents.retrieve(String(failed_intent?.id));
    expect(intent.status).toBe('requires_payment_method');
    expect(intent.amount_received).toBe(0);
    expect(intent.payment_method).toBeNull();
    expect(intent.last_payment_error).toMatchObject({ type: 'card_error', code, decline_code, charge: (error.raw as { charge?: string }).charge });
    expect(intent.last_payment_error?.payment_method?.id).toBe(pm);
    expect(intent.last_payment_error?.payment_method?.card?.last4).toBe(DECLINING_LAST4[pm]);
    expectShape('payment_intent', intent);

    const charges = await chargesOf(intent.id);
    expect(charges).toHaveLength(1);
    const charge = charges[0]!;
    expect(charge.id).toBe(intent.latest_charge);
    expect(charge).toMatchObject({ status: 'failed', paid: false, captured: false, amount_captured: 0, failure_code: code });
    expect(charge.failure_message).toEqual(expect.any(String));
    expect(charge.outcome).toMatchObject({ network_status: 'declined_by_network', type: 'issuer_declined', reason: decline_code });
    expectShape('charge', charge);
  });

  it('a stored card number declines like its test id', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000000000009995', exp_month: 12, exp_year: 2034, cvc: '123' } });
    expect(method.card?.last4).toBe('9995');
    const error = await rejection(t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: method.id, confirm: true }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe('card_declined');
    expect(error.decline_code).toBe('insufficient_funds');
    const intent = await t.stripe.paymentIntents.retrieve(String(error.payment_intent?.id));
    expect(intent.last_payment_error?.payment_method?.id).toBe(method.id);
    const [charge] = await chargesOf(intent.id);
    expect(charge?.payment_method).toBe(method.id);
    expect(charge?.failure_code).toBe('card_declined');
    expect(charge?.outcome?.reason).toBe('insufficient_funds');
  });
});

describe('risk', () => {
  it('blocks the always-blocked test card before it reaches the network', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4100000000000019', exp_month: 12, exp_year: 2034 } });
    const error = await rejection(t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: method.id, confirm: true }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe('card_declined');
    const [charge] = await chargesOf(String(error.payment_intent?.id));
    expect(charge?.status).toBe('failed');
    expect(charge?.outcome).toMatchObject({ type: 'blocked', network_status: 'not_sent_to_network', risk_level: 'highest' });
    expectShape('charge', charge);
    expect((await t.stripe.paymentIntents.retrieve(String(error.payment_intent?.id))).status).toBe('requires_payment_method');
  });
});

describe('confirmation', () => {
  it('refuses a payment method that does not exist, and changes nothing', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const error = await rejection(t.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_doesNotExist' }));
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('resource_missing');
    expect(error.param).toBe('payment_method');
    const after = await t.stripe.paymentIntents.retrieve(intent.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.payment_method).toBeNull();
    const other = await t.newMerchant();
    const elsewhere = await rejection(other.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' }));
    expect(elsewhere.statusCode).toBe(404);
  });

  it('creates without confirming, then confirms separately', async () => {
    const bare = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    expect(bare.status).toBe('requires_payment_method');
    expect(bare.latest_charge).toBeNull();
    expect(bare.client_secret).toMatch(new RegExp(`^${bare.id}_secret_`));
    expectShape('payment_intent', bare);
    const missing = await rejection(t.stripe.paymentIntents.confirm(bare.id));
    expect(missing.code).toBe('payment_intent_unexpected_state');
    const confirmed_bare = await t.stripe.paymentIntents.confirm(bare.id, { payment_method: 'pm_card_visa' });
    expect(confirmed_bare.status).toBe('succeeded');

    const with_pm = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa' });
    expect(with_pm.status).toBe('requires_confirmation');
    expect(await chargesOf(with_pm.id)).toHaveLength(0);
    const confirmed = await t.stripe.paymentIntents.confirm(with_pm.id, { receipt_email: 'buyer@example.com' });
    expect(confirmed.status).toBe('succeeded');
    expect(confirmed.amount_received).toBe(1000);
    expect(confirmed.receipt_email).toBe('buyer@example.com');
    const charges = await chargesOf(with_pm.id);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.receipt_email).toBe('buyer@example.com');
  });

  it('charges once when confirmations race', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa' });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => t.stripe.paymentIntents.confirm(intent.id)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(['lock_timeout', 'payment_intent_unexpected_state']).toContain((r.reason as Stripe.errors.StripeError).code);
    }
    expect(await chargesOf(intent.id)).toHaveLength(1);
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('retries a declined intent with a good card: two charges, the latest succeeded', async () => {
    const declined = await rejection(
      t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    );
    const id = String(declined.payment_intent?.id);
    const first_charge = (await t.stripe.paymentIntents.retrieve(id)).latest_charge;
    const retried = await t.stripe.paymentIntents.confirm(id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
    expect(retried.last_payment_error).toBeNull();
    expect(retried.payment_method).toBe('pm_card_visa');
    expect(retried.latest_charge).not.toBe(first_charge);
    const charges = await chargesOf(id);
    expect(charges).toHaveLength(2);
    expect(charges.map((c) => c.status).sort()).toEqual(['failed', 'succeeded']);
    expect(charges.find((c) => c.status === 'succeeded')?.id).toBe(retried.latest_charge);
  });
});

describe('3-D Secure', () => {
  it('requires action, then succeeds once authenticated', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://shop.example/done',
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.type).toBe('redirect_to_url');
    expect(intent.next_action?.redirect_to_url?.url).toMatch(/^https?:\/\//);
    expect(intent.next_action?.redirect_to_url?.return_url).toBe('https://shop.example/done');
    expect(intent.latest_charge).toBeNull();
    expectShape('payment_intent', intent);
    expect(await chargesOf(intent.id)).toHaveLength(0);

    const { status, body } = await authenticate(intent.id, 'succeeded');
    expect(status).toBe(200);
    expect(body.status).toBe('succeeded');
    expect(body.next_action).toBeNull();
    expect(body.amount_received).toBe(3000);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(body));
    expect(charge).toMatchObject({ status: 'succeeded', captured: true, amount_captured: 3000 });
    expectShape('charge', charge);
    expectShape('payment_intent', await t.stripe.paymentIntents.retrieve(intent.id));

    const twice = await authenticate(intent.id, 'succeeded');
    expect(twice.status).toBe(400);
  });

  it('a stored 3-D Secure card with manual capture ends in requires_capture', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000002760003184', exp_month: 12, exp_year: 2034 } });
    const intent = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: method.id, confirm: true, capture_method: 'manual' });
    expect(intent.status).toBe('requires_action');
    const { body } = await authenticate(intent.id, 'succeeded');
    expect(body.status).toBe('requires_capture');
    expect(body.amount_capturable).toBe(3000);
    expect((await t.stripe.paymentIntents.capture(intent.id)).status).toBe('succeeded');
  });

  it('goes back to requires_payment_method when authentication fails', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    const { status, body } = await authenticate(intent.id, 'failed');
    expect(status).toBe(200);
    expect(body.status).toBe('requires_payment_method');
    expect(body.next_action).toBeNull();
    expect(body.payment_method).toBeNull();
    expect(body.amount_received).toBe(0);
    expect(body.last_payment_error).toMatchObject({ type: 'invalid_request_error', code: 'payment_intent_authentication_failure' });
    expect(body.last_payment_error?.payment_method?.id).toBe('pm_card_authenticationRequired');
    const after = await t.stripe.paymentIntents.retrieve(intent.id);
    expect(after.status).toBe('requires_payment_method');
    expectShape('payment_intent', after);
    // As in Stripe, a failed authentication never reaches the card: no charge is created.
    expect(after.latest_charge).toBeNull();
    expect(await chargesOf(intent.id)).toHaveLength(0);

    const retried = await t.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
  });
});

describe('cancel', () => {
  it('cancels an unconfirmed intent with a reason', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const canceled = await t.stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancellation_reason).toBe('requested_by_customer');
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    expect(canceled.canceled_at! >= intent.created).toBe(true);
    expectShape('payment_intent', canceled);

    const confirm = await rejection(t.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' }));
    expect(confirm).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(confirm.statusCode).toBe(400);
    expect(confirm.code).toBe('payment_intent_unexpected_state');
    expect(await chargesOf(intent.id)).toHaveLength(0);

    const cancel_again = await rejection(t.stripe.paymentIntents.cancel(intent.id));
    expect(cancel_again.code).toBe('payment_intent_unexpected_state');
    const update = await rejection(t.stripe.paymentIntents.update(intent.id, { amount: 2000 }));
    expect(update.code).toBe('payment_intent_unexpected_state');
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).amount).toBe(1000);
  });

  it('cancels an authorized manual-capture intent, which then cannot be captured', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const canceled = await t.stripe.paymentIntents.cancel(held.id, { cancellation_reason: 'abandoned' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.amount_capturable).toBe(0);
    expect(canceled.amount_received).toBe(0);
    const capture = await rejection(t.stripe.paymentIntents.capture(held.id));
    expect(capture.code).toBe('payment_intent_unexpected_state');
  });

  it('cancels an intent waiting for 3-D Secure', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    const canceled = await t.stripe.paymentIntents.cancel(intent.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.next_action).toBeNull();
    expectShape('payment_intent', canceled);
    expect((await authenticate(intent.id, 'succeeded')).status).toBe(400);
  });

  it('refuses to cancel a succeeded intent', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const error = await rejection(t.stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'duplicate' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('payment_intent_unexpected_state');
    const after = await t.stripe.paymentIntents.retrieve(intent.id);
    expect(after.status).toBe('succeeded');
    expect(after.cancellation_reason).toBeNull();
  });
});

describe('update', () => {
  it('changes the amount and merges metadata, deleting keys set to an empty string', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { order: '7', note: 'gift' } });
    const updated = await t.stripe.paymentIntents.update(intent.id, { amount: 2500, metadata: { note: '', channel: 'web' }, description: 'Order 7' });
    expect(updated.amount).toBe(2500);
    expect(updated.metadata).toEqual({ order: '7', channel: 'web' });
    expect(updated.description).toBe('Order 7');
    expect(updated.status).toBe('requires_payment_method');
    expectShape('payment_intent', updated);
    const retrieved = await t.stripe.paymentIntents.retrieve(intent.id);
    expect(retrieved.amount).toBe(2500);
    expect(retrieved.metadata).toEqual({ order: '7', channel: 'web' });

    const with_pm = await t.stripe.paymentIntents.update(intent.id, { payment_method: 'pm_card_visa' });
    expect(with_pm.status).toBe('requires_confirmation');
    const confirmed = await t.stripe.paymentIntents.confirm(intent.id);
    expect(confirmed.amount_received).toBe(2500);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(confirmed));
    expect(charge.amount).toBe(2500);
    expect(charge.metadata).toEqual({ order: '7', channel: 'web' });

    const late = await rejection(t.stripe.paymentIntents.update(intent.id, { amount: 100 }));
    expect(late.code).toBe('payment_intent_unexpected_state');
  });

  it('rejects an amount below the currency minimum without changing the intent', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const error = await rejection(t.stripe.paymentIntents.update(intent.id, { amount: 10 }));
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('amount');
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).amount).toBe(1000);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Saved cards with the official SDK: saved during a payment (`setup_future_usage`) or by a
 * SetupIntent, then charged off session, with Stripe's test cards for authentication off session.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

async function authenticateSetup(id: string): Promise<Stripe.SetupIntent> {
  const response = await fetch(`${t.url}/v1/test_helpers/setup_intents/${id}/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome: 'succeeded' }).toString(),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Stripe.SetupIntent;
}

/** Saves `card` for a new customer with a SetupIntent, passing 3-D Secure when the card asks for it. */
async function savedCard(card: string): Promise<{ customer: string; payment_method: string }> {
  const customer = await t.stripe.customers.create({});
  let intent: Stripe.SetupIntent = await t.stripe.setupIntents.create({ customer: customer.id, payment_method: card, confirm: true, usage: 'off_session' });
  if (intent.status === 'requires_action') intent = await authenticateSetup(intent.id);
  expect(intent.status).toBe('succeeded');
  if (typeof intent.payment_method !== 'string') throw new Error(`setup intent ${intent.id} saved no card id`);
  return { customer: customer.id, payment_method: intent.payment_method };
}

function offSession(saved: { customer: string; payment_method: string }, amount = 1500): Stripe.PaymentIntentCreateParams {
  return { amount, currency: 'usd', customer: saved.customer, payment_method: saved.payment_method, off_session: true, confirm: true };
}

/** The processor's own count of authorize calls for an attempt id, repeats included. */
async function authorizeCalls(charge_id: string): Promise<number> {
  const result = await t.platform.database.pool.query<{ calls: string }>('SELECT authorize_calls AS calls FROM sandbox.attempts WHERE attempt_id = $1', [
    charge_id,
  ]);
  return Number(result.rows[0]?.calls ?? 0);
}

describe('saving a card during a payment', () => {
  it('setup_future_usage attaches the card to the customer once the payment succeeds', async () => {
    const customer = await t.stripe.customers.create({});
    const intent = await t.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      setup_future_usage: 'off_session',
      confirm: true,
    });
    expect(intent.status).toBe('succeeded');
    expect(intent.setup_future_usage).toBe('off_session');
    const saved = await t.stripe.customers.listPaymentMethods(customer.id);
    expect(saved.data).toHaveLength(1);
    expect(saved.data[0]).toMatchObject({ customer: customer.id, card: { last4: '4242' } });
    expect(stripeSchemaProblems('payment_method', saved.data[0])).toEqual([]);
    const attached = (await t.stripe.events.list({ type: 'payment_method.attached', limit: 100 })).data;
    expect(attached.some((event) => (event.data.object as Stripe.PaymentMethod).id === saved.data[0]?.id)).toBe(true);

    // The saved card pays again off session, without the customer.
    const again = await t.stripe.paymentIntents.create(offSession({ customer: customer.id, payment_method: saved.data[0]?.id ?? '' }));
    expect(again.status).toBe('succeeded');
  });

  it('another customer’s card is neither set up nor taken over', async () => {
    const owner = await t.stripe.customers.create({});
    const other = await t.stripe.customers.create({});
    const method = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: owner.id });
    const refused = await rejection(t.stripe.setupIntents.create({ customer: other.id, payment_method: method.id, confirm: true }));
    expect(refused).toMatchObject({ statusCode: 400, code: 'payment_method_unexpected_state', param: 'payment_method' });
    expect(await t.stripe.paymentMethods.retrieve(method.id)).toMatchObject({ customer: owner.id });
    expect((await t.stripe.setupIntents.list({ customer: other.id })).data).toHaveLength(0);
  });

  it('a declined payment saves nothing', async () => {
    const customer = await t.stripe.customers.create({});
    const error = await rejection(
      t.stripe.paymentIntents.create({
        amount: 2000,
        currency: 'usd',
        customer: customer.id,
        payment_method: 'pm_card_chargeDeclined',
        setup_future_usage: 'on_session',
        confirm: true,
      }),
    );
    expect(error).toMatchObject({ statusCode: 402, code: 'card_declined' });
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(0);
  });
});

describe('off-session payments', () => {
  it('a card saved by a SetupIntent is charged off session, and an idempotent retry charges once', async () => {
    const saved = await savedCard('pm_card_visa');
    const key = `off-session-${saved.customer}`;
    const first = await t.stripe.paymentIntents.create(offSession(saved), { idempotencyKey: key });
    const retry = await t.stripe.paymentIntents.create(offSession(saved), { idempotencyKey: key });
    expect(first.status).toBe('succeeded');
    expect(retry).toEqual(first);
    expect(await authorizeCalls(chargeIdOf(first))).toBe(1);
    expect((await t.stripe.paymentIntents.list({ customer: saved.customer })).data).toHaveLength(1);
  });

  it('4000002500003155 declines off session until it is set up, then pays off session', async () => {
    const customer = await t.stripe.customers.create({});
    const unsaved = await rejection(
      t.stripe.paymentIntents.create({ ...offSession({ customer: customer.id, payment_method: 'pm_card_authenticationRequiredOnSetup' }) }),
    );
    expect(unsaved).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
    const failed = unsaved.raw as { payment_intent?: Stripe.PaymentIntent };
    expect(failed.payment_intent).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'authentication_required' } });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(failed.payment_intent as Stripe.PaymentIntent));
    expect(charge).toMatchObject({ status: 'failed', failure_code: 'authentication_required' });

    const saved = await savedCard('pm_card_authenticationRequiredOnSetup');
    const paid = await t.stripe.paymentIntents.create(offSession(saved));
    expect(paid.status).toBe('succeeded');
    expect(stripeSchemaProblems('payment_intent', paid)).toEqual([]);
    // With the customer present the issuer still asks for 3-D Secure.
    const on_session = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      customer: saved.customer,
      payment_method: saved.payment_method,
      confirm: true,
    });
    expect(on_session.status).toBe('requires_action');
  });

  it('a card set up for on-session use only is not set up off session: 4000002500003155 still declines', async () => {
    const customer = await t.stripe.customers.create({});
    const setup = await t.stripe.setupIntents.create({
      customer: customer.id,
      payment_method: 'pm_card_authenticationRequiredOnSetup',
      confirm: true,
      usage: 'on_session',
    });
    const saved = await authenticateSetup(setup.id);
    expect(saved.status).toBe('succeeded');
    const error = await rejection(t.stripe.paymentIntents.create(offSession({ customer: customer.id, payment_method: saved.payment_method as string })));
    expect(error).toMatchObject({ statusCode: 402, code: 'authentication_required' });
  });

  it('4000002760003184 asks for authentication on every payment: set up or not, it declines off session', async () => {
    const saved = await savedCard('pm_card_authenticationRequired');
    const error = await rejection(t.stripe.paymentIntents.create(offSession(saved)));
    expect(error).toMatchObject({ statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
    const after = await t.stripe.paymentIntents.list({ customer: saved.customer });
    expect(after.data[0]).toMatchObject({ status: 'requires_payment_method', payment_method: null });
  });

  it('4000003800000446 behaves as already set up: off session it pays, on session it asks for 3-D Secure', async () => {
    const customer = await t.stripe.customers.create({});
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000003800000446', exp_month: 12, exp_year: 2034 } });
    await t.stripe.paymentMethods.attach(method.id, { customer: customer.id });
    const paid = await t.stripe.paymentIntents.create(offSession({ customer: customer.id, payment_method: method.id }));
    expect(paid.status).toBe('succeeded');
    const on_session = await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', customer: customer.id, payment_method: method.id, confirm: true });
    expect(on_session.status).toBe('requires_action');
  });

  it('an ordinary card pays off session without being set up', async () => {
    const customer = await t.stripe.customers.create({});
    const paid = await t.stripe.paymentIntents.create(offSession({ customer: customer.id, payment_method: 'pm_card_mastercard' }));
    expect(paid.status).toBe('succeeded');
  });
});

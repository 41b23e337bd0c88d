import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { apiRequest } from '../support/api-request.js';

/** PaymentIntent, charge and refund parameters beyond the basics, as current Stripe guides and SDKs send them. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const SHIPPING = { name: 'Ada Lovelace', address: { line1: '1 Main St', city: 'London', postal_code: 'N1 9GU', country: 'GB' }, carrier: 'DHL' };

interface Answer {
  status?: string;
  automatic_payment_methods?: unknown;
  error?: { type: string; code: string; param: string };
}

/** A raw form POST, as stripe-python and stripe-dotnet send it. */
async function form(path: string, body: string): Promise<{ status: number; json: Answer }> {
  const answer = await apiRequest<Answer>(t.url, t.secret_key, path, { form: body });
  return { status: answer.status, json: answer.body };
}

async function intentCount(): Promise<number> {
  return (await t.stripe.paymentIntents.list({ limit: 100 })).data.length;
}

describe('automatic payment methods', () => {
  it('enables them as the guides do: card is the method, and the object says so', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1999, currency: 'usd', automatic_payment_methods: { enabled: true } });
    expect(intent.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    expect(intent.payment_method_types).toEqual(['card']);
    expect(stripeSchemaProblems('payment_intent', intent)).toEqual([]);
    const confirmed = await t.stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');

    const never = await t.stripe.paymentIntents.create({
      amount: 500,
      currency: 'eur',
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(never).toMatchObject({ status: 'succeeded', automatic_payment_methods: { enabled: true, allow_redirects: 'never' } });
  });

  it('is on by default in 2023-08-16, and off when payment_method_types is given', async () => {
    const by_default = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    expect(by_default.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    const typed = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method_types: ['card'] });
    expect(typed.automatic_payment_methods).toBeNull();
    const both = await rejection(
      t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method_types: ['card'], automatic_payment_methods: { enabled: true } }),
    );
    expect(both).toMatchObject({ statusCode: 400, code: 'parameters_exclusive' });
  });

  it('refuses a payment method type Payrail does not process, storing nothing', async () => {
    const before = await intentCount();
    const bogus = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method_types: ['bogus_method'] }));
    expect(bogus).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'payment_method_types', rawType: 'invalid_request_error' });
    expect(bogus.message).toContain('bogus_method');
    const sepa = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'eur', payment_method_types: ['card', 'sepa_debit'] }));
    expect(sepa).toMatchObject({ statusCode: 400, code: 'parameter_invalid' });
    expect(await intentCount()).toBe(before);
  });
});

describe('booleans as stripe-python and stripe-dotnet send them', () => {
  it('accepts True / False in any case, and refuses anything else', async () => {
    const yes = await form('/v1/payment_intents', 'amount=1500&currency=usd&payment_method=pm_card_visa&confirm=True');
    expect(yes.status).toBe(200);
    expect(yes.json.status).toBe('succeeded');
    const apm = await form('/v1/payment_intents', 'amount=1500&currency=usd&automatic_payment_methods[enabled]=TRUE&confirm=False');
    expect(apm.status).toBe(200);
    expect(apm.json).toMatchObject({ status: 'requires_payment_method', automatic_payment_methods: { enabled: true } });
    const maybe = await form('/v1/payment_intents', 'amount=1500&currency=usd&confirm=yes');
    expect(maybe.status).toBe(400);
    expect(maybe.json.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'confirm' });
  });
});

describe('PaymentIntent parameters', () => {
  it('carries shipping, descriptors, receipt email and description onto the intent and its charge', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      shipping: SHIPPING,
      statement_descriptor_suffix: 'ORDER 42',
      receipt_email: 'ada@example.com',
      description: 'Order 42',
      return_url: 'https://shop.example/return',
      use_stripe_sdk: true,
    });
    expect(intent).toMatchObject({ status: 'succeeded', statement_descriptor_suffix: 'ORDER 42', receipt_email: 'ada@example.com', description: 'Order 42' });
    expect(intent.shipping).toMatchObject({ name: 'Ada Lovelace', carrier: 'DHL', phone: null, address: { line1: '1 Main St', line2: null, country: 'GB' } });
    expect(stripeSchemaProblems('payment_intent', intent)).toEqual([]);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge).toMatchObject({
      statement_descriptor_suffix: 'ORDER 42',
      calculated_statement_descriptor: 'PAYRAIL* ORDER 42',
      receipt_email: 'ada@example.com',
      description: 'Order 42',
      shipping: intent.shipping,
    });
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
  });

  it("checks statement descriptors with Stripe's character rules", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ statement_descriptor: 'A'.repeat(23) }, 'statement_descriptor'],
      [{ statement_descriptor: 'SHOP <ONLINE>' }, 'statement_descriptor'],
      [{ statement_descriptor_suffix: 'ORDER*42' }, 'statement_descriptor_suffix'],
      [{ statement_descriptor_suffix: '"QUOTED"' }, 'statement_descriptor_suffix'],
      [{ statement_descriptor: '123 456' }, 'statement_descriptor'],
    ];
    for (const [params, param] of cases) {
      const error = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', ...params }));
      expect(error, JSON.stringify(params)).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param });
    }
    const fine = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', statement_descriptor: 'SHOP 42 LTD' });
    expect(fine.statement_descriptor).toBe('SHOP 42 LTD');
  });

  it('creates the payment method inline from payment_method_data, its number going to the vault only', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 3100,
      currency: 'usd',
      confirm: true,
      payment_method_data: {
        type: 'card',
        card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' },
        billing_details: { name: 'Inline Buyer', email: 'inline@example.com' },
      } as unknown as Stripe.PaymentIntentCreateParams.PaymentMethodData,
    });
    expect(intent.status).toBe('succeeded');
    expect(intent.payment_method).toMatch(/^pm_/);
    const method = await t.stripe.paymentMethods.retrieve(intent.payment_method as string);
    expect(method.card).toMatchObject({ last4: '4242', brand: 'visa' });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.billing_details).toMatchObject({ name: 'Inline Buyer', email: 'inline@example.com' });
    expect(JSON.stringify(intent) + JSON.stringify(charge)).not.toContain('4242424242424242');

    const exclusive = await rejection(
      t.stripe.paymentIntents.create({
        amount: 3100,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        payment_method_data: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034 } } as never,
      }),
    );
    expect(exclusive).toMatchObject({ statusCode: 400, code: 'parameters_exclusive' });

    const before = await intentCount();
    const bad_number = await rejection(
      t.stripe.paymentIntents.create({
        amount: 3100,
        currency: 'usd',
        confirm: true,
        payment_method_data: { type: 'card', card: { number: '4242424242424241', exp_month: 12, exp_year: 2034 } } as never,
      }),
    );
    expect(bad_number).toMatchObject({ statusCode: 402, code: 'incorrect_number', param: 'payment_method_data[card][number]' });
    expect(bad_number.message).not.toContain('4242424242424241');
    expect(await intentCount()).toBe(before);

    // The numbers went to the vault only: not into a log line or an event.
    const events = await t.stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    expect(events.length).toBeGreaterThan(0);
    for (const text of [...t.logs, ...events.map((event) => JSON.stringify(event))]) {
      expect(text).not.toMatch(/4242424242424242|4242424242424241/);
    }
  });

  it('authorizes only with payment_method_options[card][capture_method]=manual, then captures with a descriptor', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      payment_method_options: { card: { capture_method: 'manual', request_three_d_secure: 'automatic' } },
    });
    expect(intent).toMatchObject({ status: 'requires_capture', capture_method: 'automatic' });
    expect(intent.payment_method_options?.card).toMatchObject({ capture_method: 'manual', request_three_d_secure: 'automatic' });
    expect(stripeSchemaProblems('payment_intent', intent)).toEqual([]);
    const captured = await t.stripe.paymentIntents.capture(intent.id, { statement_descriptor_suffix: 'CAPTURED', metadata: { step: 'capture' } });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 5000, metadata: { step: 'capture' } });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(captured));
    expect(charge).toMatchObject({ captured: true, statement_descriptor_suffix: 'CAPTURED' });
  });

  it('accepts off_session and error_on_requires_action on a confirm, and only there', async () => {
    const confirmed = await t.stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      off_session: true,
      error_on_requires_action: true,
    });
    expect(confirmed.status).toBe('succeeded');
    const unconfirmed = await rejection(t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', off_session: true }));
    expect(unconfirmed).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'off_session' });
    const wrong = await rejection(t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', confirm: true, off_session: 'sometimes' as never }));
    expect(wrong).toMatchObject({ statusCode: 400, param: 'off_session' });
  });

  it('fails an attempt that would need 3-D Secure with error_on_requires_action, as a soft decline', async () => {
    const error = await rejection(
      t.stripe.paymentIntents.create({
        amount: 2200,
        currency: 'usd',
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
        error_on_requires_action: true,
      }),
    );
    expect(error).toMatchObject({ statusCode: 402, rawType: 'card_error', code: 'authentication_required', decline_code: 'authentication_required' });
    const intent = error.payment_intent as Stripe.PaymentIntent;
    expect(intent).toMatchObject({ status: 'requires_payment_method', next_action: null, last_payment_error: { code: 'authentication_required' } });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge).toMatchObject({ status: 'failed', failure_code: 'authentication_required', captured: false, amount_captured: 0 });
    // Without it the same card asks for the step, as before.
    const asked = await t.stripe.paymentIntents.create({ amount: 2200, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    expect(asked.status).toBe('requires_action');
  });

  it('refuses what Payrail does not support with the parameter named, never ignoring it', async () => {
    const before = await intentCount();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ mandate_data: { customer_acceptance: { type: 'offline' } } }, 'parameter_unknown', 'mandate_data'],
      [{ payment_method_options: { card: { request_three_d_secure: 'any' } } }, 'parameter_invalid', 'payment_method_options[card][request_three_d_secure]'],
      [{ payment_method_options: { sepa_debit: { setup_future_usage: 'none' } } }, 'parameter_unknown', 'payment_method_options'],
      [{ payment_method_options: { card: { installments: { enabled: true } } } }, 'parameter_unknown', 'payment_method_options[card][installments]'],
      // Only with transfer_data[destination] (connect-destination-charges.test.ts); direct charges' fees are not served.
      [{ application_fee_amount: 100 }, 'parameter_invalid', 'application_fee_amount'],
      [{ on_behalf_of: 'acct_1' }, 'parameter_unknown', 'on_behalf_of'],
    ];
    for (const [params, code, param] of cases) {
      const error = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', ...params }));
      expect(error, JSON.stringify(params)).toMatchObject({ statusCode: 400, code, param, rawType: 'invalid_request_error' });
    }
    expect(await intentCount()).toBe(before);
  });

  it("refuses a refund's cash-balance and Connect parameters with the reason, refunding nothing", async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const cases: [Record<string, unknown>, string, RegExp, string][] = [
      [{ origin: 'customer_balance' }, 'origin', /cash balance are not supported/, 'parameter_unknown'],
      [{ customer: 'cus_1', currency: 'usd' }, 'currency', /cash balance are not supported/, 'parameter_unknown'],
      [{ instructions_email: 'a@example.com' }, 'instructions_email', /cash balance are not supported/, 'parameter_unknown'],
      // Served for destination charges (connect-destination-charges.test.ts); this charge has no transfer.
      [{ reverse_transfer: true }, 'reverse_transfer', /no transfer to reverse/, 'parameter_invalid'],
      [{ refund_application_fee: true }, 'refund_application_fee', /no application fee/, 'parameter_invalid'],
    ];
    for (const [params, param, reason, code] of cases) {
      const error = await rejection(t.stripe.refunds.create({ payment_intent: intent.id, ...params }));
      expect(error, JSON.stringify(params)).toMatchObject({ statusCode: 400, code, param });
      expect(error.message).toMatch(reason);
    }
    expect((await t.stripe.refunds.list({ payment_intent: intent.id })).data).toHaveLength(0);
  });

  it('updates shipping and card options, and clears shipping with ""', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const updated = await t.stripe.paymentIntents.update(intent.id, {
      shipping: SHIPPING,
      payment_method_options: { card: { setup_future_usage: 'off_session' } },
    });
    expect(updated.shipping?.name).toBe('Ada Lovelace');
    expect(updated.payment_method_options?.card?.setup_future_usage).toBe('off_session');
    const cleared = await t.stripe.paymentIntents.update(intent.id, { shipping: '' as never });
    expect(cleared.shipping).toBeNull();
    expect(stripeSchemaProblems('payment_intent', cleared)).toEqual([]);
  });

  it('answers increment_authorization with the reason no intent is eligible', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const error = await rejection(t.stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 1500 }));
    expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).amount).toBe(1000);
  });
});

describe('charge and refund updates', () => {
  it('updates a charge (description, metadata, receipt email, shipping, fraud details) and a refund (metadata)', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 2500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { order: '7' },
    });
    const id = chargeIdOf(intent);
    const charge = await t.stripe.charges.update(id, {
      description: 'Order 7',
      metadata: { packed: 'yes' },
      receipt_email: 'buyer@example.com',
      shipping: SHIPPING,
      fraud_details: { user_report: 'safe' },
    });
    expect(charge).toMatchObject({
      description: 'Order 7',
      metadata: { order: '7', packed: 'yes' },
      receipt_email: 'buyer@example.com',
      fraud_details: { user_report: 'safe' },
      amount_captured: 2500,
    });
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    expect(await t.stripe.charges.retrieve(id)).toMatchObject({ description: 'Order 7', shipping: { name: 'Ada Lovelace' } });
    const customer = await t.stripe.customers.create({ email: 'late@example.com' });
    expect((await t.stripe.charges.update(id, { customer: customer.id })).customer).toBe(customer.id);
    expect((await t.stripe.charges.list({ customer: customer.id })).data.map((listed) => listed.id)).toEqual([id]);
    const other = await t.stripe.customers.create({ email: 'other-late@example.com' });
    expect(await rejection(t.stripe.charges.update(id, { customer: other.id }))).toMatchObject({ statusCode: 400, param: 'customer' });
    const unknown = await rejection(t.stripe.charges.update(id, { amount: 5 } as never));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'amount' });

    const refund = await t.stripe.refunds.create({ charge: id, amount: 500, metadata: { reason: 'damaged' } });
    const updated = await t.stripe.refunds.update(refund.id, { metadata: { ticket: 'T-9' } });
    expect(updated).toMatchObject({ id: refund.id, amount: 500, status: 'succeeded', metadata: { reason: 'damaged', ticket: 'T-9' } });
    expect(stripeSchemaProblems('refund', updated)).toEqual([]);
    expect((await t.stripe.refunds.retrieve(refund.id)).metadata).toEqual({ reason: 'damaged', ticket: 'T-9' });
    expect(await rejection(t.stripe.refunds.update(refund.id, { amount: 1 } as never))).toMatchObject({ code: 'parameter_unknown' });
  });
});

describe('list limits', () => {
  it('refuses a limit outside 1..100 on every list', async () => {
    const customer = await t.stripe.customers.create({});
    const lists = ['/v1/payment_intents', '/v1/charges', '/v1/refunds', '/v1/customers', '/v1/events', '/v1/balance_transactions', '/v1/webhook_endpoints'];
    for (const path of [...lists, `/v1/customers/${customer.id}/payment_methods`, `/v1/payment_methods?customer=${customer.id}`]) {
      const answer = await apiRequest<Answer>(t.url, t.secret_key, `${path}${path.includes('?') ? '&' : '?'}limit=1000`);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error?.param, path).toBe('limit');
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** What billing needs of customers: a test clock and a payment method at creation, and Stripe's card that attaches but never pays. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const FROZEN = 1_767_225_600; // 2026-01-01T00:00:00Z

async function customerRows(): Promise<number> {
  return (await t.owner.query<{ n: number }>('SELECT count(*)::int AS n FROM payments.customers')).rows[0]!.n;
}

describe('customers on a test clock', () => {
  it('keeps the clock, shows it, expands it, and lists the clock’s customers only when asked', async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN, name: 'billing run' });
    const on_clock = await t.stripe.customers.create({ email: 'clock@example.com', test_clock: clock.id });
    const plain = await t.stripe.customers.create({ email: 'plain@example.com' });
    expect(on_clock.test_clock).toBe(clock.id);
    expect(plain.test_clock).toBeNull();
    expect(stripeSchemaProblems('customer', on_clock)).toEqual([]);
    expect((await t.stripe.customers.retrieve(on_clock.id)) as unknown).toMatchObject({ test_clock: clock.id });

    const expanded = await t.stripe.customers.retrieve(on_clock.id, { expand: ['test_clock'] });
    expect(expanded).toMatchObject({ test_clock: { id: clock.id, object: 'test_helpers.test_clock', frozen_time: FROZEN } });

    const listed = (await t.stripe.customers.list({ limit: 100 })).data.map((c) => c.id);
    expect(listed).toContain(plain.id);
    expect(listed).not.toContain(on_clock.id);
    expect((await t.stripe.customers.list({ test_clock: clock.id })).data.map((c) => c.id)).toEqual([on_clock.id]);
  });

  it('refuses a clock that does not exist or is another merchant’s, storing nothing', async () => {
    const other = await t.newMerchant();
    const foreign = await other.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN });
    const before = await customerRows();
    for (const test_clock of ['clock_doesnotexist', foreign.id]) {
      const error = await rejection(t.stripe.customers.create({ email: 'x@example.com', test_clock }));
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'test_clock' });
    }
    expect(await customerRows()).toBe(before);
  });

  it('cannot move a customer to a clock later, as on Stripe', async () => {
    const customer = await t.stripe.customers.create({ email: 'later@example.com' });
    const error = await rejection(t.stripe.customers.update(customer.id, { test_clock: 'clock_x' } as never));
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'test_clock' });
  });
});

describe('a payment method at creation and as the invoice default', () => {
  it('attaches it and makes the attached copy the default; refuses a default that is not the customer’s', async () => {
    const customer = await t.stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const [attached] = (await t.stripe.customers.listPaymentMethods(customer.id)).data;
    expect(customer.invoice_settings.default_payment_method).toBe(attached?.id);

    const stranger = await t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' } });
    const error = await rejection(t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: stranger.id } }));
    expect(error).toMatchObject({ statusCode: 400, param: 'invoice_settings[default_payment_method]' });
    expect((await t.stripe.customers.retrieve(customer.id)) as unknown).toMatchObject({ invoice_settings: { default_payment_method: attached?.id } });
  });
});

describe('Stripe’s card that attaches but every charge declines (4000000000000341)', () => {
  it('attaches by test id, sets up, then declines every charge with card_declined', async () => {
    const customer = await t.stripe.customers.create({
      payment_method: 'pm_card_chargeCustomerFail',
      invoice_settings: { default_payment_method: 'pm_card_chargeCustomerFail' },
    });
    const method = customer.invoice_settings.default_payment_method as string;
    expect((await t.stripe.paymentMethods.retrieve(method)).card).toMatchObject({ last4: '0341', brand: 'visa' });

    const setup = await t.stripe.setupIntents.create({ customer: customer.id, payment_method: method, confirm: true, usage: 'off_session' });
    expect(setup.status).toBe('succeeded');

    for (const attempt of [1, 2]) {
      const error = await rejection(
        t.stripe.paymentIntents.create({
          amount: 2000 * attempt,
          currency: 'usd',
          customer: customer.id,
          payment_method: method,
          confirm: true,
          off_session: true,
        }),
      );
      expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    }
  });

  it('does the same by number and by token', async () => {
    const customer = await t.stripe.customers.create({ email: 'fails@example.com' });
    const by_number = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000000000000341', exp_month: 12, exp_year: 2034, cvc: '123' } });
    const by_token = await t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_chargeCustomerFail' } });
    for (const method of [by_number, by_token]) {
      await t.stripe.paymentMethods.attach(method.id, { customer: customer.id });
      const intent = await t.stripe.paymentIntents.create({ amount: 500, currency: 'usd', customer: customer.id, payment_method: method.id });
      const error = await rejection(t.stripe.paymentIntents.confirm(intent.id));
      expect(error).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline' });
      expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** Customers with Stripe's create and update parameters; a customer's PaymentMethods retrieved and updated. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const ADDRESS = { line1: '1 Main St', city: 'Berlin', postal_code: '10115', country: 'DE' };
const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' };

async function customerCount(): Promise<number> {
  return (await t.stripe.customers.list({ limit: 100 })).data.length;
}

describe('customer parameters', () => {
  it('creates a customer with every field Payrail keeps, and attaches a payment method as its default', async () => {
    const customer = await t.stripe.customers.create({
      email: 'full@example.com',
      name: 'Full Customer',
      phone: '+4930123456',
      description: 'all fields',
      address: ADDRESS,
      shipping: { name: 'Full Customer', address: ADDRESS, phone: '+4930123456' },
      balance: -500,
      invoice_prefix: 'FULL42',
      next_invoice_sequence: 7,
      preferred_locales: ['de', 'en'],
      tax_exempt: 'reverse',
      metadata: { crm: '42' },
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa', footer: 'Thanks', custom_fields: [{ name: 'VAT', value: 'DE123' }] },
    });
    expect(customer).toMatchObject({
      address: { ...ADDRESS, line2: null, state: null },
      shipping: { name: 'Full Customer', phone: '+4930123456', address: { city: 'Berlin' } },
      balance: -500,
      invoice_prefix: 'FULL42',
      next_invoice_sequence: 7,
      preferred_locales: ['de', 'en'],
      tax_exempt: 'reverse',
      invoice_settings: { footer: 'Thanks', custom_fields: [{ name: 'VAT', value: 'DE123' }] },
    });
    expect(stripeSchemaProblems('customer', customer)).toEqual([]);
    const [attached] = (await t.stripe.customers.listPaymentMethods(customer.id)).data;
    expect(attached?.customer).toBe(customer.id);
    // pm_card_visa attaches as a stored copy, and the default names that copy.
    expect(customer.invoice_settings.default_payment_method).toBe(attached?.id);

    const updated = await t.stripe.customers.update(customer.id, { address: '' as never, tax_exempt: '' as never, preferred_locales: [] as never, balance: 0 });
    expect(updated).toMatchObject({ address: null, tax_exempt: 'none', balance: 0, invoice_prefix: 'FULL42' });
    expect(stripeSchemaProblems('customer', updated)).toEqual([]);
  });

  it("refuses a default payment method that is not the customer's own", async () => {
    const customer = await t.stripe.customers.create({ email: 'default@example.com' });
    const stranger = await t.stripe.paymentMethods.create({ type: 'card', card: VISA });
    const error = await rejection(t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: stranger.id } }));
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'invoice_settings[default_payment_method]' });
    expect((await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ invoice_settings: { default_payment_method: null } });
  });

  it('refuses coupons, tax, sources and unknown objects, naming the parameter and storing nothing', async () => {
    const before = await customerCount();
    const cases: [Stripe.CustomerCreateParams, string, string][] = [
      [{ cash_balance: { settings: { reconciliation_mode: 'automatic' } } }, 'parameter_unknown', 'cash_balance'],
      [{ tax_id_data: [{ type: 'eu_vat', value: 'DE123456789' }] }, 'parameter_unknown', 'tax_id_data'],
      [{ test_clock: 'clock_1' }, 'resource_missing', 'test_clock'],
      [{ coupon: 'SAVE10' }, 'parameter_unknown', 'coupon'],
      [{ source: 'tok_visa' }, 'parameter_unknown', 'source'],
      [{ tax: { ip_address: '127.0.0.1' } }, 'parameter_unknown', 'tax'],
      [{ invoice_prefix: 'lower' }, 'parameter_invalid', 'invoice_prefix'],
      [{ next_invoice_sequence: 0 }, 'parameter_invalid_integer', 'next_invoice_sequence'],
      [{ tax_exempt: 'sometimes' as never }, 'parameter_invalid', 'tax_exempt'],
      [{ shipping: { address: ADDRESS } as never }, 'parameter_missing', 'shipping[name]'],
      [{ payment_method: 'pm_doesNotExist' }, 'resource_missing', 'payment_method'],
    ];
    for (const [params, code, param] of cases) {
      const error = await rejection(t.stripe.customers.create({ email: 'refused@example.com', ...params }));
      expect(error, JSON.stringify(params)).toMatchObject({ statusCode: code === 'resource_missing' ? 404 : 400, code, param });
    }
    expect(await customerCount()).toBe(before);
  });
});

describe("a customer's payment methods", () => {
  it('retrieves one of them (customers.retrievePaymentMethod), and not another’s', async () => {
    const customer = await t.stripe.customers.create({ email: 'pm@example.com' });
    const other = await t.stripe.customers.create({ email: 'other-pm@example.com' });
    const method = await t.stripe.paymentMethods.attach((await t.stripe.paymentMethods.create({ type: 'card', card: VISA })).id, { customer: customer.id });
    const retrieved = await t.stripe.customers.retrievePaymentMethod(customer.id, method.id);
    expect(retrieved).toEqual(method);
    expect(stripeSchemaProblems('payment_method', retrieved)).toEqual([]);
    const missing = await rejection(t.stripe.customers.retrievePaymentMethod(other.id, method.id));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('updates billing details, metadata and a renewed expiry (paymentMethods.update), checking the expiry', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: VISA, billing_details: { name: 'Before' }, metadata: { a: '1' } });
    const updated = await t.stripe.paymentMethods.update(method.id, {
      billing_details: { email: 'after@example.com', address: { postal_code: '10115' } },
      metadata: { b: '2' },
      card: { exp_month: 3, exp_year: 2036 },
    });
    expect(updated).toMatchObject({
      id: method.id,
      billing_details: { name: 'Before', email: 'after@example.com', address: { postal_code: '10115' } },
      metadata: { a: '1', b: '2' },
      card: { exp_month: 3, exp_year: 2036, last4: '4242', fingerprint: method.card?.fingerprint },
    });
    expect(stripeSchemaProblems('payment_method', updated)).toEqual([]);
    expect(await t.stripe.paymentMethods.retrieve(method.id)).toEqual(updated);

    const expired = await rejection(t.stripe.paymentMethods.update(method.id, { card: { exp_year: 2001 } }));
    expect(expired).toMatchObject({ statusCode: 402, code: 'invalid_expiry_year', param: 'card[exp_year]' });
    const month = await rejection(t.stripe.paymentMethods.update(method.id, { card: { exp_month: 13 } }));
    expect(month).toMatchObject({ code: 'invalid_expiry_month' });
    expect((await t.stripe.paymentMethods.retrieve(method.id)).card?.exp_year).toBe(2036);
    const shared = await rejection(t.stripe.paymentMethods.update('pm_card_visa', { metadata: { x: '1' } }));
    expect(shared).toMatchObject({ statusCode: 400, code: 'payment_method_unexpected_state' });
    const bank = await rejection(t.stripe.paymentMethods.update(method.id, { us_bank_account: { account_holder_type: 'individual' } }));
    expect(bank).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'us_bank_account' });
  });
});

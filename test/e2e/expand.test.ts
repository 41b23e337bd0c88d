import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { apiRequest } from '../support/api-request.js';

/** expand[] on the objects payments, the ledger and events serve: Stripe's expandable fields, nested paths, lists, and 400 for the rest. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

async function get(path: string) {
  return apiRequest<{ error?: { type: string; code: string; param: string; message: string } }>(t.url, t.secret_key, path);
}

describe('expanding what Stripe documents', () => {
  it("answers the fee recipe: the charge's balance transaction, on create and on retrieve", async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      expand: ['latest_charge.balance_transaction'],
    });
    const charge = intent.latest_charge as Stripe.Charge;
    const transaction = charge.balance_transaction as Stripe.BalanceTransaction;
    expect(transaction).toMatchObject({ object: 'balance_transaction', amount: 10_000, currency: 'usd', source: charge.id, type: 'charge' });
    expect(transaction.fee + transaction.net).toBe(10_000);
    expect(stripeSchemaProblems('balance_transaction', transaction)).toEqual([]);
    expect(stripeSchemaProblems('charge', { ...charge, balance_transaction: transaction.id })).toEqual([]);

    const retrieved = await t.stripe.charges.retrieve(charge.id, { expand: ['balance_transaction', 'payment_intent', 'customer'] });
    expect(retrieved.balance_transaction).toEqual(transaction);
    expect((retrieved.payment_intent as Stripe.PaymentIntent).id).toBe(intent.id);
    expect(retrieved.customer).toBeNull();
  });

  it("expands a refund's charge, intent and balance transaction", async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const refund = await t.stripe.refunds.create({ payment_intent: intent.id, amount: 1000, expand: ['charge', 'payment_intent'] });
    expect((refund.charge as Stripe.Charge).id).toBe(chargeIdOf(intent));
    expect((refund.payment_intent as Stripe.PaymentIntent).id).toBe(intent.id);
    const retrieved = await t.stripe.refunds.retrieve(refund.id, { expand: ['balance_transaction', 'charge.balance_transaction'] });
    expect(retrieved.balance_transaction).toMatchObject({ object: 'balance_transaction', amount: -1000, type: 'refund', source: refund.id });
    expect(((retrieved.charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction).amount).toBe(3000);
  });

  it('expands inside lists with data.…, and the payment method of a last payment error', async () => {
    const customer = await t.stripe.customers.create({ email: 'lists@example.com' });
    const paid = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    const page = await t.stripe.paymentIntents.list({ customer: customer.id, expand: ['data.customer', 'data.latest_charge.balance_transaction'] });
    expect(page.data.map((intent) => intent.id)).toEqual([paid.id]);
    expect(page.data[0]?.customer).toMatchObject({ id: customer.id, object: 'customer' });
    expect(((page.data[0]?.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction).object).toBe('balance_transaction');
    const empty = await t.stripe.refunds.list({ payment_intent: paid.id, expand: ['data.charge'] });
    expect(empty.data).toEqual([]);

    const declined = await rejection(
      t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    );
    const failed_intent = declined.payment_intent as Stripe.PaymentIntent;
    const retrieved = await t.stripe.paymentIntents.retrieve(failed_intent.id, { expand: ['last_payment_error.payment_method', 'invoice', 'review'] });
    expect(retrieved.last_payment_error?.payment_method).toMatchObject({ id: 'pm_card_chargeDeclined', object: 'payment_method' });
    expect(retrieved.invoice).toBeNull();
  });

  it('expands inside search results as inside lists', async () => {
    const customer = await t.stripe.customers.create({ email: 'searched@example.com' });
    const paid = await t.stripe.paymentIntents.create({ amount: 2100, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    const found = await t.stripe.paymentIntents.search({ query: `customer:'${customer.id}'`, expand: ['data.customer', 'data.latest_charge'] });
    expect(found.data.map((intent) => intent.id)).toEqual([paid.id]);
    expect(found.data[0]?.customer).toMatchObject({ id: customer.id, email: 'searched@example.com' });
    expect((found.data[0]?.latest_charge as Stripe.Charge).amount).toBe(2100);
    const refused = await rejection(t.stripe.customers.search({ query: "email:'searched@example.com'", expand: ['data.nothing'] }));
    expect(refused).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'expand' });
  });

  it("expands a customer's default payment method, and a payment method's customer", async () => {
    const customer = await t.stripe.customers.create({ payment_method: 'pm_card_visa' });
    const [method] = (await t.stripe.customers.listPaymentMethods(customer.id)).data;
    const updated = await t.stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: method!.id },
      expand: ['invoice_settings.default_payment_method'],
    });
    expect(updated.invoice_settings.default_payment_method).toMatchObject({ id: method!.id, object: 'payment_method', customer: customer.id });
    const with_customer = await t.stripe.paymentMethods.retrieve(method!.id, { expand: ['customer'] });
    expect(with_customer.customer).toMatchObject({ id: customer.id, object: 'customer' });
  });

  it("includes a customer's sources, subscriptions and tax ids only when expanded, as empty lists", async () => {
    const customer = await t.stripe.customers.create({ email: 'includable@example.com' });
    expect(customer).not.toHaveProperty('sources');
    expect(customer).not.toHaveProperty('subscriptions');
    const expanded = await t.stripe.customers.retrieve(customer.id, { expand: ['sources', 'subscriptions', 'tax_ids'] });
    for (const list of ['sources', 'subscriptions', 'tax_ids'] as const) {
      expect((expanded as Stripe.Customer)[list]).toEqual({
        object: 'list',
        data: [],
        has_more: false,
        total_count: 0,
        url: `/v1/customers/${customer.id}/${list}`,
      });
    }
    expect(stripeSchemaProblems('customer', expanded)).toEqual([]);
    const page = await t.stripe.customers.list({ email: 'includable@example.com', expand: ['data.subscriptions'] });
    expect(page.data[0]?.subscriptions?.data).toEqual([]);
    expect(page.data[0]).not.toHaveProperty('sources');
    await t.stripe.customers.del(customer.id);
    expect(await t.stripe.customers.retrieve(customer.id, { expand: ['sources'] })).toEqual({ id: customer.id, object: 'customer', deleted: true });
  });
});

describe('expanding what cannot be expanded', () => {
  it('answers 400 naming the path, on every kind of route', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = chargeIdOf(intent);
    for (const [path, shown] of [
      [`/v1/payment_intents/${intent.id}?expand[]=foo`, 'foo'],
      [`/v1/payment_intents/${intent.id}?expand[]=latest_charge.foo`, 'latest_charge.foo'],
      [`/v1/payment_intents/${intent.id}?expand[]=amount`, 'amount'],
      [`/v1/charges/${charge}?expand[]=refunds.data.nothing`, 'refunds.data.nothing'],
      ['/v1/payment_intents?expand[]=customer', 'customer'],
      ['/v1/payment_intents?expand[]=data.bogus', 'data.bogus'],
      ['/v1/customers?expand[]=data.invoice_settings.footer', 'data.invoice_settings.footer'],
      ['/v1/balance_transactions?expand[]=data.charge', 'data.charge'],
      ['/v1/events?expand[]=data.object', 'data.object'],
    ]) {
      const { status, body } = await get(path!);
      expect(status, path).toBe(400);
      expect(body.error, path).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'expand' });
      expect(body.error?.message, path).toBe(`This property cannot be expanded (${shown}).`);
    }
  });

  it('refuses a bad path on a POST before anything is written', async () => {
    const before = (await t.stripe.paymentIntents.list({ limit: 100 })).data.length;
    const error = await rejection(
      t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, expand: ['latest_charge.nope'] }),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'expand' });
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data.length).toBe(before);
  });
});

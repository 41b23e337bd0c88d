import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** Tokens and the legacy Charges API with the official SDK, as integrations written before PaymentIntents use them. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const CARD_NUMBER = '4242424242424242';

function expectShape(name: 'token' | 'charge' | 'refund', object: unknown): void {
  expect(stripeSchemaProblems(name, object)).toEqual([]);
}

function cardToken(number = CARD_NUMBER): Promise<Stripe.Token> {
  return t.stripe.tokens.create({ card: { number, exp_month: '12', exp_year: '2034', cvc: '123', name: 'Jo Doe', address_zip: '94107' } });
}

/** The ledger posts from events, off the request path: polls until the charge's balance transaction exists. */
async function postedBalanceTransaction(id: string): Promise<Stripe.BalanceTransaction> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await t.stripe.balanceTransactions.retrieve(id);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function eventsAbout(object_id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data.filter((event) => JSON.stringify(event.data.object).includes(object_id)).map((event) => event.type);
}

/** The processor's own count of authorize calls for an attempt id, repeats included. */
async function authorizeCalls(charge_id: string): Promise<number> {
  const result = await t.platform.database.pool.query<{ calls: string }>('SELECT authorize_calls AS calls FROM sandbox.attempts WHERE attempt_id = $1', [
    charge_id,
  ]);
  return Number(result.rows[0]?.calls ?? 0);
}

describe('tokens', () => {
  it('creates a card token whose card Stripe would show, never the number', async () => {
    const token = await cardToken();
    expect(token).toMatchObject({ object: 'token', type: 'card', used: false, livemode: false });
    expect(token.id).toMatch(/^tok_/);
    expect(token.card).toMatchObject({ object: 'card', brand: 'Visa', last4: '4242', exp_month: 12, exp_year: 2034, name: 'Jo Doe', address_zip: '94107' });
    expect(token.card?.id).toMatch(/^card_/);
    expectShape('token', token);
    expect(JSON.stringify(token)).not.toContain(CARD_NUMBER);
    expect(await t.stripe.tokens.retrieve(token.id)).toEqual(token);
    expect(t.logs.join('\n')).not.toContain(CARD_NUMBER);
  });

  it('refuses a bad card with the vault’s card errors, and unsupported token kinds', async () => {
    const bad = await rejection(t.stripe.tokens.create({ card: { number: '4242424242424241', exp_month: '12', exp_year: '2034' } }));
    expect(bad).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'incorrect_number', param: 'card[number]' });
    expect(bad.message).not.toContain('4242424242424241');
    const bank = await rejection(t.stripe.tokens.create({ bank_account: { country: 'US', currency: 'usd', account_number: '000123456789' } }));
    expect(bank).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'bank_account' });
    expect(bank.message).not.toContain('000123456789');
    expect(await rejection(t.stripe.tokens.retrieve('tok_missing'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('refuses expand[] on tokens, which have nothing to expand, rather than ignoring it', async () => {
    const unexpandable = { statusCode: 400, code: 'parameter_invalid', param: 'expand', message: 'This property cannot be expanded (card.customer).' };
    const created = await rejection(t.stripe.tokens.create({ card: { number: CARD_NUMBER, exp_month: '12', exp_year: '2034' }, expand: ['card.customer'] }));
    expect(created).toMatchObject(unexpandable);
    expect(created.message).not.toContain(CARD_NUMBER);
    const token = await cardToken();
    expect(await rejection(t.stripe.tokens.retrieve(token.id, { expand: ['card.customer'] }))).toMatchObject(unexpandable);
  });
});

describe('PaymentMethods from tokens', () => {
  it('card[token] makes the token’s card a PaymentMethod, once', async () => {
    const token = await cardToken();
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { token: token.id }, metadata: { from: 'token' } });
    expect(method).toMatchObject({ object: 'payment_method', type: 'card', card: { last4: '4242', brand: 'visa' }, metadata: { from: 'token' } });
    expect(method.billing_details.name).toBe('Jo Doe');
    expect(stripeSchemaProblems('payment_method', method)).toEqual([]);
    expect((await t.stripe.tokens.retrieve(token.id)).used).toBe(true);
    const twice = await rejection(t.stripe.paymentMethods.create({ type: 'card', card: { token: token.id } }));
    expect(twice).toMatchObject({ statusCode: 400, code: 'token_already_used', param: 'card[token]' });
    const paid = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: method.id, confirm: true });
    expect(paid.status).toBe('succeeded');
  });

  it('card[token]=tok_visa stores a new card each time; a token with card fields is refused', async () => {
    const a = await t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' } });
    const b = await t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' } });
    expect(a.id).toMatch(/^pm_[0-9A-Z]{26}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.card?.last4).toBe('4242');
    const mixed = await rejection(t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa', number: CARD_NUMBER } as never }));
    expect(mixed).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'card[number]' });
    expect(mixed.message).not.toContain(CARD_NUMBER);
    expect(await rejection(t.stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_missing' } }))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'card[token]',
    });
  });
});

describe('legacy charges', () => {
  it('charges a token once: a real payment with its charge, events and balance transaction', async () => {
    const token = await cardToken();
    const charge = await t.stripe.charges.create({ amount: 2500, currency: 'usd', source: token.id, description: 'order 12', metadata: { order: '12' } });
    expect(charge).toMatchObject({ object: 'charge', status: 'succeeded', paid: true, captured: true, amount: 2500, amount_captured: 2500 });
    expect(charge.payment_intent).toBeNull();
    expect(charge.source).toMatchObject({ object: 'card', id: token.card?.id, last4: '4242', brand: 'Visa' });
    expect(charge.metadata).toEqual({ order: '12' });
    expect(charge.balance_transaction).toMatch(/^txn_/);
    expectShape('charge', charge);
    const posted = await postedBalanceTransaction(charge.balance_transaction as string);
    expect(posted).toMatchObject({ amount: 2500, type: 'charge', source: charge.id });
    expect(await t.stripe.charges.retrieve(charge.id)).toEqual(charge);
    expect((await t.stripe.tokens.retrieve(token.id)).used).toBe(true);

    const again = await rejection(t.stripe.charges.create({ amount: 2500, currency: 'usd', source: token.id }));
    expect(again).toMatchObject({ statusCode: 400, code: 'token_already_used', param: 'source' });

    // Stripe's Charges API emits charge events only: no PaymentIntent exists for it.
    const types = await eventsAbout(charge.id);
    expect(types).toContain('charge.succeeded');
    expect(types.filter((type) => type.startsWith('payment_intent.'))).toEqual([]);
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data.filter((intent) => intent.latest_charge === charge.id)).toEqual([]);
    const searched = await t.stripe.paymentIntents.search({ query: 'amount:2500' });
    expect(searched.data.filter((intent) => intent.latest_charge === charge.id)).toEqual([]);
  });

  it('Stripe’s test tokens are reusable; a declining one is a card_error naming the failed charge', async () => {
    const first = await t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa' });
    const second = await t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa' });
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    expect(first.source).toMatchObject({ object: 'card', brand: 'Visa' });
    expect((await t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_mastercard' })).source).toMatchObject({ brand: 'MasterCard' });

    const declined = await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_chargeDeclinedInsufficientFunds' }));
    expect(declined).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
    const failed_id = (declined.raw as { charge?: string }).charge ?? '';
    const failed = await t.stripe.charges.retrieve(failed_id);
    expect(failed).toMatchObject({ status: 'failed', paid: false, failure_code: 'card_declined', payment_intent: null });
    expectShape('charge', failed);
  });

  it('an idempotent retry answers the same charge and the processor authorizes once', async () => {
    const token = await cardToken();
    const params = { amount: 4200, currency: 'usd', source: token.id };
    const first = await t.stripe.charges.create(params, { idempotencyKey: `legacy-${token.id}` });
    const retry = await t.stripe.charges.create(params, { idempotencyKey: `legacy-${token.id}` });
    expect(retry).toEqual(first);
    expect(await authorizeCalls(first.id)).toBe(1);
  });

  it('capture=false holds the authorization; charges.capture captures it, once', async () => {
    const held = await t.stripe.charges.create({ amount: 3000, currency: 'usd', source: 'tok_visa', capture: false });
    expect(held).toMatchObject({ status: 'succeeded', captured: false, amount_captured: 0, balance_transaction: null });
    expect(await rejection(t.stripe.charges.capture(held.id, { amount: 3001 }))).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(await rejection(t.stripe.charges.capture(held.id, { amount: 10 }))).toMatchObject({ statusCode: 400, code: 'amount_too_small', param: 'amount' });
    const captured = await t.stripe.charges.capture(held.id, { amount: 2000 });
    expect(captured).toMatchObject({ captured: true, amount_captured: 2000, payment_intent: null });
    expectShape('charge', captured);
    expect(await eventsAbout(held.id)).toContain('charge.captured');
    expect(await rejection(t.stripe.charges.capture(held.id))).toMatchObject({ statusCode: 400, code: 'charge_not_captured' });
  });

  it('a card that asks for 3-D Secure declines with authentication_required: nobody is there to authenticate', async () => {
    const token = await cardToken('4000002760003184');
    const error = await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', source: token.id }));
    expect(error).toMatchObject({ statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
  });

  it('refunds a legacy charge; the refund shows no PaymentIntent either', async () => {
    const charge = await t.stripe.charges.create({ amount: 1800, currency: 'usd', source: 'tok_visa' });
    const refund = await t.stripe.refunds.create({ charge: charge.id, amount: 800 });
    expect(refund).toMatchObject({ status: 'succeeded', amount: 800, charge: charge.id, payment_intent: null });
    expectShape('refund', refund);
    expect((await t.stripe.charges.retrieve(charge.id)).amount_refunded).toBe(800);
  });

  it('charges a PaymentMethod id as source, and a saved card by its customer', async () => {
    const customer = await t.stripe.customers.create({});
    const method = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const charge = await t.stripe.charges.create({ amount: 1200, currency: 'usd', customer: customer.id, source: method.id });
    expect(charge).toMatchObject({ status: 'succeeded', customer: customer.id, payment_method: method.id, source: null });
  });

  it('charges a token’s card_ id once; saved to a customer, the card pays for that customer only', async () => {
    const token = await cardToken();
    const card_id = token.card?.id ?? '';
    const charged = await t.stripe.charges.create({ amount: 1100, currency: 'usd', source: card_id });
    expect(charged.source).toMatchObject({ id: card_id });
    expect((await t.stripe.tokens.retrieve(token.id)).used).toBe(true);
    expect(await rejection(t.stripe.charges.create({ amount: 1100, currency: 'usd', source: card_id }))).toMatchObject({ statusCode: 404, param: 'source' });

    const saved_token = await cardToken();
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { token: saved_token.id } });
    const customer = await t.stripe.customers.create({});
    await t.stripe.paymentMethods.attach(method.id, { customer: customer.id });
    const source = saved_token.card?.id ?? '';
    const first = await t.stripe.charges.create({ amount: 1300, currency: 'usd', customer: customer.id, source });
    const second = await t.stripe.charges.create({ amount: 1300, currency: 'usd', customer: customer.id, source });
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const stranger = await t.stripe.customers.create({});
    expect(await rejection(t.stripe.charges.create({ amount: 1300, currency: 'usd', customer: stranger.id, source }))).toMatchObject({ statusCode: 404 });
  });

  it('without a source, charges the customer’s invoice_settings.default_payment_method', async () => {
    const customer = await t.stripe.customers.create({});
    const method = await t.stripe.paymentMethods.attach('pm_card_mastercard', { customer: customer.id });
    const bare = await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', customer: customer.id }));
    expect(bare).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'source' });
    await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
    const charge = await t.stripe.charges.create({ amount: 1000, currency: 'usd', customer: customer.id });
    expect(charge).toMatchObject({ status: 'succeeded', customer: customer.id, payment_method: method.id });
  });

  it('refuses bad input with Stripe errors and charges nothing', async () => {
    const before = (await t.stripe.charges.list({ limit: 100 })).data.length;
    expect(await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd' }))).toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'source',
    });
    expect(await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_nope' }))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'source',
    });
    expect(await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa', destination: { account: 'acct_1' } }))).toMatchObject({
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'destination',
    });
    expect(await rejection(t.stripe.charges.create({ amount: 10, currency: 'usd', source: 'tok_visa' }))).toMatchObject({ code: 'amount_too_small' });
    expect(await rejection(t.stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa', statement_descriptor: 'a*b' }))).toMatchObject({
      code: 'parameter_invalid',
      param: 'statement_descriptor',
    });
    expect((await t.stripe.charges.list({ limit: 100 })).data).toHaveLength(before);
  });

  it('another merchant cannot use the token', async () => {
    const other = await t.newMerchant();
    const token = await cardToken();
    expect(await rejection(other.stripe.charges.create({ amount: 1000, currency: 'usd', source: token.id }))).toMatchObject({ statusCode: 404 });
    expect(await rejection(other.stripe.tokens.retrieve(token.id))).toMatchObject({ statusCode: 404 });
  });
});

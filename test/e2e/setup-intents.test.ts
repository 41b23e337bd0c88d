import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** SetupIntents with the official SDK: verify a card without charging it, 3-D Secure, save it to the customer. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

function expectSetupShape(intent: unknown): void {
  expect(stripeSchemaProblems('setup_intent', intent)).toEqual([]);
}

/** The 3-D Secure test helper, which the SDK has no method for. */
async function authenticate(id: string, outcome: 'succeeded' | 'failed'): Promise<{ status: number; body: Stripe.SetupIntent }> {
  const response = await fetch(`${t.url}/v1/test_helpers/setup_intents/${id}/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Stripe.SetupIntent };
}

async function eventTypesOf(object_id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((event) => (event.data.object as { id?: string }).id === object_id)
    .map((event) => event.type)
    .reverse();
}

/** Payments the processor recorded: a verification moves no money. */
async function capturedAtProcessor(): Promise<number> {
  const result = await t.platform.database.pool.query<{ captured: string }>('SELECT coalesce(sum(amount_captured), 0) AS captured FROM sandbox.attempts');
  return Number(result.rows[0]?.captured);
}

describe('SetupIntents', () => {
  it('creates, confirms and saves the card to the customer without charging it', async () => {
    const customer = await t.stripe.customers.create({ email: 'saver@example.com' });
    const captured_before = await capturedAtProcessor();
    const created = await t.stripe.setupIntents.create({ customer: customer.id, usage: 'off_session', metadata: { order: '7' }, description: 'save card' });
    expect(created).toMatchObject({
      object: 'setup_intent',
      status: 'requires_payment_method',
      usage: 'off_session',
      customer: customer.id,
      payment_method: null,
    });
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_`));
    expect(created.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    expectSetupShape(created);

    const updated = await t.stripe.setupIntents.update(created.id, { payment_method: 'pm_card_visa', metadata: { step: 'two' } });
    expect(updated.status).toBe('requires_confirmation');
    expect(updated.metadata).toEqual({ order: '7', step: 'two' });

    const confirmed = await t.stripe.setupIntents.confirm(created.id);
    expect(confirmed.status).toBe('succeeded');
    expect(confirmed.latest_attempt).toMatch(/^setatt_/);
    // The test id stands for a card nobody stored: the saved card is a PaymentMethod of its own.
    expect(confirmed.payment_method).toMatch(/^pm_[0-9A-Z]{26}$/);
    expectSetupShape(confirmed);
    const saved = await t.stripe.customers.listPaymentMethods(customer.id, { type: 'card' });
    expect(saved.data.map((method) => method.id)).toEqual([confirmed.payment_method]);
    expect(saved.data[0]?.card?.last4).toBe('4242');
    expect(await capturedAtProcessor()).toBe(captured_before);

    expect(await eventTypesOf(created.id)).toEqual(['setup_intent.created', 'setup_intent.succeeded']);
    const retrieved = await t.stripe.setupIntents.retrieve(created.id);
    expect(retrieved).toEqual(confirmed);
    expect(await rejection(t.stripe.setupIntents.confirm(created.id))).toMatchObject({ statusCode: 400, code: 'setup_intent_unexpected_state' });
  });

  it('expands customer and payment_method; an unknown expand path is refused', async () => {
    const customer = await t.stripe.customers.create({ email: 'expand@example.com' });
    const intent = await t.stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    const expanded = await t.stripe.setupIntents.retrieve(intent.id, { expand: ['customer', 'payment_method'] });
    expect(expanded.customer).toMatchObject({ id: customer.id, email: 'expand@example.com' });
    expect(expanded.payment_method).toMatchObject({ id: intent.payment_method, object: 'payment_method' });
    const listed = await t.stripe.setupIntents.list({ customer: customer.id, expand: ['data.payment_method'] });
    expect(listed.data[0]?.payment_method).toMatchObject({ object: 'payment_method' });
    expect(await rejection(t.stripe.setupIntents.retrieve(intent.id, { expand: ['nonsense'] }))).toMatchObject({ statusCode: 400, param: 'expand' });
    const with_attempt = await t.stripe.setupIntents.retrieve(intent.id, { expand: ['latest_attempt.setup_intent'] });
    expect(with_attempt.latest_attempt).toMatchObject({ object: 'setup_attempt', status: 'succeeded', setup_intent: { id: intent.id } });
    const attempts = await t.stripe.setupAttempts.list({ setup_intent: intent.id, expand: ['data.payment_method'] });
    expect(attempts.data[0]?.payment_method).toMatchObject({ id: intent.payment_method, object: 'payment_method' });
  });

  it('retrieves with the client secret, and a wrong secret finds nothing', async () => {
    const intent = await t.stripe.setupIntents.create({});
    const secret = intent.client_secret ?? '';
    expect((await t.stripe.setupIntents.retrieve(intent.id, { client_secret: secret })).id).toBe(intent.id);
    const wrong = await rejection(t.stripe.setupIntents.retrieve(intent.id, { client_secret: `${intent.id}_secret_wrong` }));
    expect(wrong).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('a raw card needs 3-D Secure: requires_action, then succeeded once authenticated', async () => {
    const customer = await t.stripe.customers.create({});
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000002500003155', exp_month: 12, exp_year: 2034, cvc: '123' } });
    const intent = await t.stripe.setupIntents.create({
      customer: customer.id,
      payment_method: method.id,
      confirm: true,
      return_url: 'https://shop.example/saved',
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.type).toBe('redirect_to_url');
    expect(intent.next_action?.redirect_to_url?.return_url).toBe('https://shop.example/saved');
    expect(intent.next_action?.redirect_to_url?.url).toContain(`/v1/test_helpers/setup_intents/${intent.id}/authenticate`);
    expectSetupShape(intent);
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(0);

    const { status, body } = await authenticate(intent.id, 'succeeded');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'succeeded', payment_method: method.id, next_action: null });
    expectSetupShape(body);
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data.map((m) => m.id)).toEqual([method.id]);
    expect(await eventTypesOf(intent.id)).toEqual(['setup_intent.created', 'setup_intent.requires_action', 'setup_intent.succeeded']);
    expect((await authenticate(intent.id, 'succeeded')).status).toBe(400);

    const attempts = await t.stripe.setupAttempts.list({ setup_intent: intent.id });
    expect(attempts.data).toHaveLength(1);
    expect(attempts.data[0]).toMatchObject({
      id: body.latest_attempt,
      object: 'setup_attempt',
      status: 'succeeded',
      setup_intent: intent.id,
      payment_method: method.id,
      customer: customer.id,
      payment_method_details: { type: 'card', card: { last4: '3155', three_d_secure: { result: 'authenticated' } } },
    });
    expect(stripeSchemaProblems('setup_attempt', attempts.data[0])).toEqual([]);
  });

  it('payment_method_data: the card goes to the vault and is verified with its CVC', async () => {
    const customer = await t.stripe.customers.create({});
    const card = { number: '5555555555554444', exp_month: 12, exp_year: 2034, cvc: '321' };
    const created = await t.stripe.setupIntents.create({ customer: customer.id, confirm: true, payment_method_data: { type: 'card', card } as never });
    expect(created.status).toBe('succeeded');
    const saved = await t.stripe.paymentMethods.retrieve(created.payment_method as string);
    expect(saved).toMatchObject({ customer: customer.id, card: { last4: '4444', brand: 'mastercard' } });
    const cvc = await t.platform.database.pool.query<{ cvc_check: string }>('SELECT cvc_check FROM sandbox.attempts WHERE attempt_id = $1', [
      created.latest_attempt,
    ]);
    expect(cvc.rows[0]?.cvc_check).toBe('pass');

    const later = await t.stripe.setupIntents.create({ customer: customer.id });
    const declined = await rejection(
      t.stripe.setupIntents.confirm(later.id, { payment_method_data: { type: 'card', card: { ...card, number: '4000000000009995' } } as never }),
    );
    expect(declined).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
    expect(JSON.stringify(declined.raw)).not.toContain('4000000000009995');
    expect((await t.stripe.setupIntents.retrieve(later.id)).status).toBe('requires_payment_method');
  });

  it('a failed 3-D Secure step asks for another card, with setup_intent_authentication_failure', async () => {
    const intent = await t.stripe.setupIntents.create({ payment_method: 'pm_card_authenticationRequired', confirm: true });
    expect(intent.status).toBe('requires_action');
    const { status, body } = await authenticate(intent.id, 'failed');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'requires_payment_method', payment_method: null, next_action: null });
    expect(body.last_setup_error?.code).toBe('setup_intent_authentication_failure');
    expectSetupShape(body);
    expect(await eventTypesOf(intent.id)).toEqual(['setup_intent.created', 'setup_intent.requires_action', 'setup_intent.setup_failed']);
  });

  it('a declined card is a card_error with last_setup_error, and nothing is saved', async () => {
    const customer = await t.stripe.customers.create({});
    const intent = await t.stripe.setupIntents.create({ customer: customer.id });
    const error = await rejection(t.stripe.setupIntents.confirm(intent.id, { payment_method: 'pm_card_visa_chargeDeclinedInsufficientFunds' }));
    expect(error).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
    const raw = error.raw as { setup_intent?: Stripe.SetupIntent };
    expect(raw.setup_intent?.status).toBe('requires_payment_method');
    const after = await t.stripe.setupIntents.retrieve(intent.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_setup_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' });
    expectSetupShape(after);
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(0);
    expect(await eventTypesOf(intent.id)).toEqual(['setup_intent.created', 'setup_intent.setup_failed']);
    const [failed] = (await t.stripe.setupAttempts.list({ setup_intent: intent.id })).data;
    expect(failed).toMatchObject({ status: 'failed', setup_error: { code: 'card_declined', decline_code: 'insufficient_funds' } });
    expect(stripeSchemaProblems('setup_attempt', failed)).toEqual([]);

    // Another card on the same intent then succeeds.
    expect((await t.stripe.setupIntents.confirm(intent.id, { payment_method: 'pm_card_mastercard' })).status).toBe('succeeded');
  });

  it('an idempotent retry of a create-and-confirm verifies once and answers the same', async () => {
    const customer = await t.stripe.customers.create({});
    const params = { customer: customer.id, payment_method: 'pm_card_visa', confirm: true };
    const first = await t.stripe.setupIntents.create(params, { idempotencyKey: `seti-${customer.id}` });
    const again = await t.stripe.setupIntents.create(params, { idempotencyKey: `seti-${customer.id}` });
    expect(again).toEqual(first);
    expect((await t.stripe.setupIntents.list({ customer: customer.id })).data).toHaveLength(1);
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(1);
  });

  it('cancels, and a canceled intent cannot be confirmed', async () => {
    const intent = await t.stripe.setupIntents.create({ payment_method: 'pm_card_visa' });
    const canceled = await t.stripe.setupIntents.cancel(intent.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    expectSetupShape(canceled);
    expect(await rejection(t.stripe.setupIntents.confirm(intent.id))).toMatchObject({ code: 'setup_intent_unexpected_state' });
    expect(await rejection(t.stripe.setupIntents.cancel(intent.id))).toMatchObject({ code: 'setup_intent_unexpected_state' });
    expect(await eventTypesOf(intent.id)).toEqual(['setup_intent.created', 'setup_intent.canceled']);
  });

  it('lists newest first, filtered by customer, with cursors', async () => {
    const customer = await t.stripe.customers.create({});
    const a = await t.stripe.setupIntents.create({ customer: customer.id });
    const b = await t.stripe.setupIntents.create({ customer: customer.id });
    const page = await t.stripe.setupIntents.list({ customer: customer.id, limit: 1 });
    expect(page.data.map((i) => i.id)).toEqual([b.id]);
    expect(page.has_more).toBe(true);
    const next = await t.stripe.setupIntents.list({ customer: customer.id, limit: 1, starting_after: b.id });
    expect(next.data.map((i) => i.id)).toEqual([a.id]);
    expect(next.has_more).toBe(false);
  });

  it('refuses bad input with Stripe errors and stores nothing', async () => {
    const before = (await t.stripe.setupIntents.list({ limit: 100 })).data.length;
    const bogus_type = await rejection(t.stripe.setupIntents.create({ payment_method_types: ['bogus_method'] }));
    expect(bogus_type).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'payment_method_types' });
    const unknown = await rejection(t.stripe.setupIntents.create({ single_use: { amount: 100, currency: 'usd' } }));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'single_use' });
    expect(unknown.message).toContain('not supported');
    const three_ds = await rejection(t.stripe.setupIntents.create({ payment_method_options: { card: { request_three_d_secure: 'any' } } }));
    expect(three_ds).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'payment_method_options[card][request_three_d_secure]' });
    const both = await rejection(t.stripe.setupIntents.create({ payment_method_types: ['card'], automatic_payment_methods: { enabled: true } }));
    expect(both).toMatchObject({ statusCode: 400, code: 'parameters_exclusive' });
    const usage = await rejection(t.stripe.setupIntents.create({ usage: 'sometimes' as 'on_session' }));
    expect(usage).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'usage' });
    const missing_customer = await rejection(t.stripe.setupIntents.create({ customer: 'cus_missing' }));
    expect(missing_customer).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'customer' });
    const no_method = await rejection(t.stripe.setupIntents.create({ confirm: true }));
    expect(no_method).toMatchObject({ statusCode: 400, code: 'setup_intent_unexpected_state', param: 'payment_method' });
    expect((await t.stripe.setupIntents.list({ limit: 100 })).data).toHaveLength(before);
    // `automatic` is what Payrail does anyway: accepted.
    const automatic = await t.stripe.setupIntents.create({ payment_method_options: { card: { request_three_d_secure: 'automatic' } } });
    expect(automatic.payment_method_options?.card?.request_three_d_secure).toBe('automatic');
    expect(await rejection(t.stripe.setupIntents.retrieve('seti_missing'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await rejection(t.stripe.setupAttempts.list({} as Stripe.SetupAttemptListParams))).toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'setup_intent',
    });
  });

  it('a publishable key reads and confirms a SetupIntent only with its client_secret, as Stripe.js does', async () => {
    const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
    const keys = await createMerchant(store, Math.floor(Date.now() / 1000), { name: 'Browser merchant' });
    const server = stripeClient(t.url, keys.secret_key);
    const browser = stripeClient(t.url, keys.publishable_key);
    const customer = await server.customers.create({});
    const intent = await server.setupIntents.create({ customer: customer.id });
    const client_secret = intent.client_secret ?? '';
    expect((await browser.setupIntents.retrieve(intent.id, { client_secret })).status).toBe('requires_payment_method');
    expect(await rejection(browser.setupIntents.retrieve(intent.id))).toMatchObject({ statusCode: 401 });
    expect(await rejection(browser.setupIntents.list())).toMatchObject({ statusCode: 401 });
    const method = await browser.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } });
    const confirmed = await browser.setupIntents.confirm(intent.id, { client_secret, payment_method: method.id } as Stripe.SetupIntentConfirmParams);
    expect(confirmed).toMatchObject({ status: 'succeeded', payment_method: method.id });
    expect((await server.customers.listPaymentMethods(customer.id)).data.map((m) => m.id)).toEqual([method.id]);
  });

  it('another merchant cannot see or confirm the intent', async () => {
    const other = await t.newMerchant();
    const intent = await t.stripe.setupIntents.create({ payment_method: 'pm_card_visa' });
    expect(await rejection(other.stripe.setupIntents.retrieve(intent.id))).toMatchObject({ statusCode: 404 });
    expect(await rejection(other.stripe.setupIntents.confirm(intent.id))).toMatchObject({ statusCode: 404 });
    expect((await other.stripe.setupIntents.list()).data).toHaveLength(0);
  });
});

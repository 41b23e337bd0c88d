import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const ITEMS = [
  { price_data: { currency: 'usd', product_data: { name: 'T-shirt' }, unit_amount: 2000 }, quantity: 2 },
  { price_data: { currency: 'usd', product_data: { name: 'Mug', description: 'Blue' }, unit_amount: 1250 }, quantity: 1 },
];

function paymentSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}): Promise<Stripe.Checkout.Session> {
  return t.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: ITEMS,
    success_url: 'https://shop.example/done?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cart',
    ...extra,
  });
}

async function eventsOf(type: string, session_id: string): Promise<Stripe.Event[]> {
  const events = await t.stripe.events.list({ type, limit: 100 });
  return events.data.filter((event) => (event.data.object as { id: string }).id === session_id);
}

/** What the hosted page's script sends when the customer pays (its secret is the url's fragment). */
async function submitPage(session: Stripe.Checkout.Session, number = '4242424242424242'): Promise<{ status: number; body: { next?: string; url?: string } }> {
  const [path, secret] = session.url!.slice(t.url.length).split('#') as [string, string];
  const response = await fetch(`${t.url}${path}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ secret, email: 'ada@example.com', card: { number, exp_month: '12', exp_year: '2034', cvc: '123' } }),
  });
  return { status: response.status, body: (await response.json()) as { next?: string; url?: string } };
}

describe('checkout sessions', () => {
  it('creates a payment session from inline price_data, with totals, a hosted url and Stripe’s shape', async () => {
    const session = await paymentSession({ metadata: { order: '1001' }, client_reference_id: 'cart-7', customer_email: 'ada@example.com' });
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      currency: 'usd',
      amount_subtotal: 5250,
      amount_total: 5250,
      payment_intent: null,
      customer_email: 'ada@example.com',
      client_reference_id: 'cart-7',
      metadata: { order: '1001' },
      success_url: 'https://shop.example/done?session={CHECKOUT_SESSION_ID}',
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toMatch(new RegExp(`^${t.url}/c/pay/${session.id}#[A-Za-z0-9_-]{20,}$`));
    expect(session.expires_at - session.created).toBe(24 * 60 * 60);
    expect(stripeSchemaProblems('checkout.session', session)).toEqual([]);
    expect(await t.stripe.checkout.sessions.retrieve(session.id)).toEqual(session);
  });

  it('lists line items with their ad-hoc prices, and expands them on the session', async () => {
    const session = await paymentSession();
    const items = await t.stripe.checkout.sessions.listLineItems(session.id, { limit: 1 });
    expect(items.has_more).toBe(true);
    expect(items.data[0]).toMatchObject({ object: 'item', description: 'T-shirt', quantity: 2, amount_total: 4000, currency: 'usd' });
    expect(items.data[0]?.price).toMatchObject({ object: 'price', unit_amount: 2000, type: 'one_time' });
    expect(stripeSchemaProblems('item', items.data[0])).toEqual([]);
    const next = await t.stripe.checkout.sessions.listLineItems(session.id, { starting_after: items.data[0]!.id });
    expect(next.data.map((item) => item.description)).toEqual(['Mug']);
    const expanded = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items'] });
    expect(expanded.line_items?.data).toHaveLength(2);
    const bad = await rejection(t.stripe.checkout.sessions.retrieve(session.id, { expand: ['invoice.lines'] }));
    expect(bad).toMatchObject({ statusCode: 400, param: 'expand' });
  });

  it('creates a setup session without line items', async () => {
    const session = await t.stripe.checkout.sessions.create({ mode: 'setup', currency: 'eur', success_url: 'https://shop.example/saved' });
    expect(session).toMatchObject({ mode: 'setup', payment_status: 'no_payment_required', amount_total: null, currency: 'eur', setup_intent: null });
    expect(stripeSchemaProblems('checkout.session', session)).toEqual([]);
  });

  it('refuses subscription mode, unknown and unsupported parameters, and bad line items with Stripe’s errors, storing nothing', async () => {
    const before = (await t.stripe.checkout.sessions.list({ limit: 100 })).data.length;
    const subscription = await rejection(
      t.stripe.checkout.sessions.create({ mode: 'subscription', line_items: ITEMS, success_url: 'https://shop.example/done' }),
    );
    expect(subscription).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'parameter_invalid', param: 'mode' });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ mode: 'payment', success_url: 'https://s.example' }, 'parameter_missing', 'line_items'],
      [{ mode: 'payment', line_items: ITEMS }, 'parameter_missing', 'success_url'],
      [{ mode: 'payment', line_items: ITEMS, success_url: 'javascript:alert(1)' }, 'parameter_invalid', 'success_url'],
      [{ mode: 'payment', line_items: [{ price: 'price_123', quantity: 1 }], success_url: 'https://s.example' }, 'resource_missing', 'line_items[0][price]'],
      [
        { mode: 'payment', line_items: [{ ...ITEMS[0], price_data: { ...ITEMS[0]!.price_data, unit_amount: 'lots' } }], success_url: 'https://s.example' },
        'parameter_invalid_integer',
        'line_items[0][price_data][unit_amount]',
      ],
      [
        {
          mode: 'payment',
          line_items: [ITEMS[0], { ...ITEMS[1], price_data: { ...ITEMS[1]!.price_data, currency: 'eur' } }],
          success_url: 'https://s.example',
        },
        'parameter_invalid',
        'line_items[1][price_data][currency]',
      ],
      [{ mode: 'payment', line_items: ITEMS, success_url: 'https://s.example', discounts: [{ coupon: 'X' }] }, 'parameter_unknown', 'discounts'],
      [{ mode: 'payment', line_items: ITEMS, success_url: 'https://s.example', bogus: 1 }, 'parameter_unknown', 'bogus'],
      [{ mode: 'payment', line_items: ITEMS, success_url: 'https://s.example', customer: 'cus_missing' }, 'resource_missing', 'customer'],
      [
        { mode: 'payment', line_items: ITEMS, success_url: 'https://s.example', expires_at: Math.floor(Date.now() / 1000) + 60 },
        'parameter_invalid',
        'expires_at',
      ],
      [{ mode: 'setup', line_items: ITEMS, success_url: 'https://s.example' }, 'parameter_invalid', 'line_items'],
    ];
    for (const [params, code, param] of cases) {
      const error = await rejection(t.stripe.checkout.sessions.create(params as unknown as Stripe.Checkout.SessionCreateParams));
      expect({ code: error.code, param: error.param, status: error.statusCode }).toEqual({ code, param, status: code === 'resource_missing' ? 404 : 400 });
    }
    expect((await t.stripe.checkout.sessions.list({ limit: 100 })).data.length).toBe(before);
  });

  it('lists newest first with cursors and filters by customer', async () => {
    const customer = await t.stripe.customers.create({ email: 'grace@example.com' });
    const first = await paymentSession({ customer: customer.id });
    const second = await paymentSession();
    const page = await t.stripe.checkout.sessions.list({ limit: 1 });
    expect(page.data[0]?.id).toBe(second.id);
    expect(page.has_more).toBe(true);
    const older = await t.stripe.checkout.sessions.list({ limit: 1, starting_after: second.id });
    expect(older.data[0]?.id).toBe(first.id);
    const mine = await t.stripe.checkout.sessions.list({ customer: customer.id });
    expect(mine.data.map((session) => session.id)).toEqual([first.id]);
    expect(mine.data[0]?.customer_creation).toBeNull();
  });

  it('expires an open session once, emitting checkout.session.expired; a second expire is refused', async () => {
    const session = await paymentSession();
    const expired = await t.stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    expect(stripeSchemaProblems('checkout.session', expired)).toEqual([]);
    const again = await rejection(t.stripe.checkout.sessions.expire(session.id));
    expect(again).toMatchObject({ statusCode: 400, code: 'checkout_session_unexpected_state' });
    expect(again.message).toContain('status of `expired`');
    const events = await eventsOf('checkout.session.expired', session.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.data.object).toMatchObject({ id: session.id, status: 'expired' });
  });

  it('expires an open session past its expires_at in the background, once, with its event', async () => {
    const session = await paymentSession();
    const paid = await paymentSession();
    // Both as if created a day ago; the sweep expires the open one and leaves the completed one alone.
    await t.owner.query(
      `UPDATE checkout.sessions SET expires_at = $2, state = (jsonb_set(state::jsonb, '{expires_at}', to_jsonb($2::bigint)))::json WHERE id = ANY($1)`,
      [[session.id, paid.id], Math.floor(Date.now() / 1000) - 60],
    );
    await t.owner.query(
      `UPDATE checkout.sessions SET status = 'complete', state = (state::jsonb || '{"status": "complete", "payment_status": "paid"}')::json WHERE id = $1`,
      [paid.id],
    );
    await expect.poll(async () => (await t.stripe.checkout.sessions.retrieve(session.id)).status, { timeout: 30_000, interval: 500 }).toBe('expired');
    expect(await eventsOf('checkout.session.expired', session.id)).toHaveLength(1);
    expect((await t.stripe.checkout.sessions.retrieve(paid.id)).status).toBe('complete');
    expect(await eventsOf('checkout.session.expired', paid.id)).toEqual([]);
  });

  it('pays a session once however often its page submits at the same time: one PaymentIntent, one charge, one event', async () => {
    const session = await paymentSession({ line_items: [{ price_data: { currency: 'usd', product_data: { name: 'Race' }, unit_amount: 4321 }, quantity: 1 }] });
    const submit = () => submitPage(session);
    const answers = await Promise.all(Array.from({ length: 6 }, submit));
    const redirected = answers.filter((answer) => answer.body.next === 'redirect');
    expect(redirected.length).toBeGreaterThanOrEqual(1);
    expect(redirected[0]?.body.url).toBe(`https://shop.example/done?session=${session.id}`);
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const charges = await t.stripe.charges.list({ payment_intent: done.payment_intent as string });
    expect(charges.data.filter((charge) => charge.status === 'succeeded')).toHaveLength(1);
    const intents = await t.stripe.paymentIntents.list({ limit: 100 });
    // No other test pays 43.21: the one PaymentIntent of that amount is the session's.
    expect(intents.data.filter((intent) => intent.amount === 4321).map((intent) => intent.id)).toEqual([done.payment_intent]);
    expect(await eventsOf('checkout.session.completed', session.id)).toHaveLength(1);
    // A later submit of the completed session is refused and pays nothing.
    const late = await submit();
    expect(late.status).toBe(400);
    expect(
      (await t.stripe.charges.list({ payment_intent: done.payment_intent as string })).data.filter((charge) => charge.status === 'succeeded'),
    ).toHaveLength(1);
  });

  it('completes a manual-capture session as unpaid, its PaymentIntent held for capture', async () => {
    const session = await paymentSession({ payment_intent_data: { capture_method: 'manual' } });
    expect((await submitPage(session)).body.next).toBe('redirect');
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['payment_intent'] });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'unpaid', payment_intent: { status: 'requires_capture', amount_capturable: 5250 } });
  });

  it('completes a session whose payment went through but whose completion was lost, charging nothing more', async () => {
    const session = await paymentSession();
    expect((await submitPage(session)).body.next).toBe('redirect');
    const paid = await t.stripe.checkout.sessions.retrieve(session.id);
    // As if the process died between the payment and the session's completion.
    await t.owner.query(
      `UPDATE checkout.sessions SET status = 'open', state = (state::jsonb || '{"status": "open", "payment_status": "unpaid", "customer_details": null}')::json WHERE id = $1`,
      [session.id],
    );
    const again = await submitPage(session, '4000000000000002');
    expect(again.body).toEqual({ next: 'redirect', url: `https://shop.example/done?session=${session.id}` });
    expect(await t.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      payment_intent: paid.payment_intent,
    });
    const charges = await t.stripe.charges.list({ payment_intent: paid.payment_intent as string });
    expect(charges.data.map((charge) => charge.status)).toEqual(['succeeded']);
  });

  it('cancels an expired session’s abandoned PaymentIntent, as Stripe does', async () => {
    const session = await paymentSession();
    expect((await submitPage(session, '4000000000000002')).status).toBe(402);
    const left = (await t.stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(left)).status).toBe('requires_payment_method');
    await t.stripe.checkout.sessions.expire(session.id);
    expect(await t.stripe.paymentIntents.retrieve(left)).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    expect((await submitPage(session)).status).toBe(400);
  });

  it('refuses a page past 10 card submissions, so a leaked link cannot test cards; nothing reaches the processor', async () => {
    const session = await paymentSession();
    for (let i = 0; i < 10; i++) expect((await submitPage(session, '4000000000000002')).status).toBe(402);
    const refused = await submitPage(session);
    expect(refused).toMatchObject({ status: 429, body: { error: { type: 'invalid_request_error', code: 'rate_limit' } } });
    const open = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(open.status).toBe('open');
    const charges = await t.stripe.charges.list({ payment_intent: open.payment_intent as string, limit: 100 });
    expect(charges.data.map((charge) => charge.status)).toEqual(Array.from({ length: 10 }, () => 'failed'));
  });

  it('keeps sessions to their merchant', async () => {
    const session = await paymentSession();
    const other = await t.newMerchant();
    const missing = await rejection(other.stripe.checkout.sessions.retrieve(session.id));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect((await other.stripe.checkout.sessions.list()).data).toEqual([]);
  });
});

describe('expand[] on sessions', () => {
  it('refuses an unknown path before anything is stored', async () => {
    const before = (await t.stripe.checkout.sessions.list({ limit: 100 })).data.length;
    for (const path of ['bogus', 'payment_intent.latest_charge', 'data.payment_intent']) {
      const refused = await rejection(paymentSession({ expand: [path] }));
      expect(refused).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'expand' });
    }
    expect((await t.stripe.checkout.sessions.list({ limit: 100 })).data).toHaveLength(before);
    await expect(t.stripe.checkout.sessions.list({ expand: ['data.customer.sources'] })).rejects.toMatchObject({ statusCode: 400, param: 'expand' });
  });

  it('expands the setup intent, and the fields Payrail always leaves null, as Stripe names them', async () => {
    const session = await t.stripe.checkout.sessions.create(
      { mode: 'setup', currency: 'usd', success_url: 'https://shop.example/saved' },
      { idempotencyKey: 'checkout-expand-setup' },
    );
    const expanded = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['setup_intent', 'invoice', 'subscription', 'payment_link'] });
    expect(expanded).toMatchObject({ id: session.id, setup_intent: null, invoice: null, subscription: null, payment_link: null });
    const listed = await t.stripe.checkout.sessions.list({ limit: 1, expand: ['data.payment_intent'] });
    expect(listed.data).toHaveLength(1);
  });
});

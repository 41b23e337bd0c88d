import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** /v1/subscriptions through the official SDK: creation and its first invoice, trials, declines, prorations, cancellation, lists. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const DAY = 86_400;

async function monthlyPrice(unit_amount = 3100, extra: Partial<Stripe.PriceCreateParams> = {}): Promise<Stripe.Price> {
  return t.stripe.prices.create({ currency: 'usd', unit_amount, recurring: { interval: 'month' }, product_data: { name: 'Seats' }, ...extra });
}

async function customerWithCard(card = 'pm_card_visa'): Promise<Stripe.Customer> {
  const customer = await t.stripe.customers.create({ email: 'ada@example.com' });
  const method = await t.stripe.paymentMethods.attach(card, { customer: customer.id });
  return t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
}

async function eventsFor(id: string): Promise<Stripe.Event[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data.filter((event) => (event.data.object as { id?: string }).id === id).reverse();
}

async function stored(sql: string, values: unknown[]): Promise<number> {
  return Number((await t.owner.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
}

async function invoiceOf(subscription: Stripe.Subscription): Promise<Stripe.Invoice> {
  const invoice = subscription.latest_invoice;
  if (typeof invoice !== 'string') throw new Error(`${subscription.id} has no latest invoice id`);
  return t.stripe.invoices.retrieve(invoice);
}

describe('subscriptions: creation', () => {
  it('creates an active subscription whose first invoice is paid, in Stripe’s shape', async () => {
    const price = await monthlyPrice(3100);
    const customer = await customerWithCard();
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id, quantity: 2 }], metadata: { plan: 'team' } });
    expect(subscription).toMatchObject({
      object: 'subscription',
      status: 'active',
      customer: customer.id,
      currency: 'usd',
      collection_method: 'charge_automatically',
      cancel_at_period_end: false,
      trial_end: null,
      metadata: { plan: 'team' },
    });
    expect(subscription.id).toMatch(/^sub_/);
    expect(subscription.items.data).toHaveLength(1);
    expect(subscription.items.data[0]).toMatchObject({ object: 'subscription_item', quantity: 2, subscription: subscription.id, price: { id: price.id } });
    expect(subscription.billing_cycle_anchor).toBe(subscription.current_period_start);
    const start = new Date(subscription.current_period_start * 1000);
    const expected_end = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1) / 1000;
    // One month on, the same day and time (clamped to the month's end).
    expect(subscription.current_period_end - subscription.current_period_start).toBeGreaterThanOrEqual(28 * DAY);
    expect(subscription.current_period_end - subscription.current_period_start).toBeLessThanOrEqual(31 * DAY);
    expect(expected_end).toBeGreaterThan(subscription.current_period_start);
    expect(stripeSchemaProblems('subscription', subscription)).toEqual([]);
    const invoice = await invoiceOf(subscription);
    expect(invoice).toMatchObject({ status: 'paid', billing_reason: 'subscription_create', amount_paid: 6200, subscription: subscription.id });
    expect(invoice.lines.data.map((line) => [line.amount, line.quantity, line.period.start, line.period.end])).toEqual([
      [6200, 2, subscription.current_period_start, subscription.current_period_end],
    ]);
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toEqual(subscription);
    const events = await eventsFor(subscription.id);
    expect(events.map((event) => event.type)).toEqual(['customer.subscription.created', 'customer.subscription.updated']);
    expect((events[0]?.data.object as Stripe.Subscription).status).toBe('incomplete');
    expect(events[1]?.data.previous_attributes).toEqual({ status: 'incomplete' });
  });

  it('starts a trial with a paid $0 invoice, the trial end anchoring the cycle', async () => {
    const price = await monthlyPrice(1000);
    const customer = await customerWithCard();
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], trial_period_days: 14 });
    expect(subscription.status).toBe('trialing');
    expect(subscription.trial_end).toBe(subscription.trial_start! + 14 * DAY);
    expect(subscription.current_period_end).toBe(subscription.trial_end);
    expect(subscription.billing_cycle_anchor).toBe(subscription.trial_end);
    const invoice = await invoiceOf(subscription);
    expect(invoice).toMatchObject({ status: 'paid', amount_due: 0, amount_paid: 0, payment_intent: null });
    expect(invoice.lines.data.map((line) => line.description)).toEqual(['Trial period for Seats']);
    expect(stripeSchemaProblems('subscription', subscription)).toEqual([]);
  });

  it('leaves the subscription incomplete when the first payment is declined, with the invoice open', async () => {
    const price = await monthlyPrice(2500);
    const customer = await customerWithCard('pm_card_chargeDeclined');
    const subscription = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      expand: ['latest_invoice.payment_intent'],
    });
    expect(subscription.status).toBe('incomplete');
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'open', amount_due: 2500, amount_paid: 0, attempt_count: 1 });
    expect(invoice.payment_intent).toMatchObject({ object: 'payment_intent', status: 'requires_payment_method', amount: 2500 });
    expect((await eventsFor(subscription.id)).map((event) => event.type)).toEqual(['customer.subscription.created']);
  });

  it('answers error_if_incomplete’s decline with the card error, and leaves nothing to bill', async () => {
    const price = await monthlyPrice(2500);
    const customer = await customerWithCard('pm_card_chargeDeclined');
    const error = await rejection(
      t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], payment_behavior: 'error_if_incomplete' }),
    );
    expect(error).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined' });
    const all = await t.stripe.subscriptions.list({ customer: customer.id, status: 'all' });
    expect(all.data.map((s) => s.status)).toEqual(['incomplete_expired']);
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data).toEqual([]);
    expect((await invoiceOf(all.data[0]!)).status).toBe('void');
  });

  it('with default_incomplete, tries no payment', async () => {
    const price = await monthlyPrice(2500);
    const customer = await customerWithCard();
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], payment_behavior: 'default_incomplete' });
    expect(subscription.status).toBe('incomplete');
    expect(await invoiceOf(subscription)).toMatchObject({ status: 'open', attempt_count: 0 });
  });
});

describe('subscriptions: changes', () => {
  async function activeSubscription(unit_amount = 3100): Promise<{ subscription: Stripe.Subscription; price: Stripe.Price; customer: Stripe.Customer }> {
    const price = await monthlyPrice(unit_amount);
    const customer = await customerWithCard();
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(subscription.status).toBe('active');
    return { subscription, price, customer };
  }

  const midway = (s: Stripe.Subscription) => s.current_period_start + (s.current_period_end - s.current_period_start) / 2;

  it('prorates a quantity change halfway through the period as pending invoice items, to the minor unit', async () => {
    const { subscription, customer } = await activeSubscription(3100);
    const item = subscription.items.data[0]!;
    const updated = await t.stripe.subscriptions.update(subscription.id, { items: [{ id: item.id, quantity: 3 }], proration_date: midway(subscription) });
    expect(updated.items.data[0]?.quantity).toBe(3);
    expect(updated.latest_invoice).toBe(subscription.latest_invoice);
    const pending = await t.stripe.invoiceItems.list({ customer: customer.id, pending: true });
    expect(pending.data.map((line) => [line.amount, line.proration, line.subscription]).sort()).toEqual([
      [-1550, true, subscription.id],
      [4650, true, subscription.id],
    ]);
    const event = (await eventsFor(subscription.id)).at(-1)!;
    expect(event.type).toBe('customer.subscription.updated');
    expect((event.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> }).items.data[0]?.quantity).toBe(1);
  });

  it('previews the next invoice: the next period at the new quantity with the pending prorations, storing nothing', async () => {
    const { subscription, customer } = await activeSubscription(3100);
    const item = subscription.items.data[0]!;
    await t.stripe.subscriptions.update(subscription.id, { items: [{ id: item.id, quantity: 3 }], proration_date: midway(subscription) });
    const invoices = (await t.stripe.invoices.list({ subscription: subscription.id })).data.length;
    const upcoming = await t.stripe.invoices.retrieveUpcoming({ customer: customer.id });
    expect(upcoming).toMatchObject({
      subscription: subscription.id,
      billing_reason: 'upcoming',
      amount_due: 3 * 3100 - 1550 + 4650,
      next_payment_attempt: subscription.current_period_end,
    });
    const next_period = upcoming.lines.data.filter((line) => !line.proration);
    expect(next_period.map((line) => [line.amount, line.quantity, line.period.start])).toEqual([[9300, 3, subscription.current_period_end]]);
    expect(await t.stripe.invoices.retrieveUpcoming({ customer: customer.id, subscription: subscription.id })).toMatchObject({ amount_due: 12_400 });
    expect((await t.stripe.invoices.list({ subscription: subscription.id })).data).toHaveLength(invoices);
    await t.stripe.subscriptions.cancel(subscription.id);
    expect((await rejection(t.stripe.invoices.retrieveUpcoming({ customer: customer.id, subscription: subscription.id }))).code).toBe('invoice_upcoming_none');
  });

  it('bills a price change at once with always_invoice', async () => {
    const { subscription, customer } = await activeSubscription(3100);
    const bigger = await monthlyPrice(6200);
    const item = subscription.items.data[0]!;
    const updated = await t.stripe.subscriptions.update(subscription.id, {
      items: [{ id: item.id, price: bigger.id }],
      proration_behavior: 'always_invoice',
      proration_date: midway(subscription),
    });
    expect(updated.items.data[0]?.price.id).toBe(bigger.id);
    expect(updated.latest_invoice).not.toBe(subscription.latest_invoice);
    const invoice = await invoiceOf(updated);
    expect(invoice).toMatchObject({ status: 'paid', billing_reason: 'subscription_update', amount_paid: 1550, customer: customer.id });
    expect(invoice.lines.data.map((line) => line.amount).sort((a, b) => a - b)).toEqual([-1550, 3100]);
    expect((await t.stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toEqual([]);
  });

  it('bills nothing with proration_behavior=none', async () => {
    const { subscription, customer } = await activeSubscription();
    await t.stripe.subscriptions.update(subscription.id, { items: [{ id: subscription.items.data[0]!.id, quantity: 5 }], proration_behavior: 'none' });
    expect((await t.stripe.invoiceItems.list({ customer: customer.id })).data).toEqual([]);
  });

  it('cancels at the period end, then changes its mind', async () => {
    const { subscription } = await activeSubscription();
    const canceling = await t.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(canceling).toMatchObject({ status: 'active', cancel_at_period_end: true, cancel_at: subscription.current_period_end });
    expect(canceling.canceled_at).not.toBeNull();
    const kept = await t.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: false });
    expect(kept).toMatchObject({ cancel_at_period_end: false, cancel_at: null, canceled_at: null });
    const updates = (await eventsFor(subscription.id)).filter((event) => event.type === 'customer.subscription.updated');
    expect(updates.at(-2)?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, cancel_at: null });
    expect(updates.at(-1)?.data.previous_attributes).toMatchObject({ cancel_at_period_end: true });
  });

  it('cancels now, crediting the unused time when asked to prorate', async () => {
    const { subscription, customer } = await activeSubscription(3100);
    const canceled = await t.stripe.subscriptions.cancel(subscription.id, { prorate: true });
    expect(canceled.status).toBe('canceled');
    expect(canceled.ended_at).toBe(canceled.canceled_at);
    expect(canceled.cancellation_details?.reason).toBe('cancellation_requested');
    const credit = await t.stripe.invoiceItems.list({ customer: customer.id, pending: true });
    expect(credit.data).toHaveLength(1);
    expect(credit.data[0]?.amount).toBeLessThan(0);
    expect(credit.data[0]?.amount).toBeGreaterThanOrEqual(-3100);
    expect((await eventsFor(subscription.id)).at(-1)?.type).toBe('customer.subscription.deleted');
    const again = await rejection(t.stripe.subscriptions.cancel(subscription.id));
    expect(again.statusCode).toBe(400);
    const update = await rejection(t.stripe.subscriptions.update(subscription.id, { metadata: { a: 'b' } }));
    expect(update.statusCode).toBe(400);
  });

  it('ends a trial now, billing a whole period from now', async () => {
    const price = await monthlyPrice(1200);
    const customer = await customerWithCard();
    const trialing = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], trial_period_days: 30 });
    const ended = await t.stripe.subscriptions.update(trialing.id, { trial_end: 'now' });
    expect(ended.status).toBe('active');
    expect(ended.trial_end).toBe(ended.current_period_start);
    expect(ended.billing_cycle_anchor).toBe(ended.current_period_start);
    expect(await invoiceOf(ended)).toMatchObject({ status: 'paid', amount_paid: 1200, billing_reason: 'subscription_update' });
  });
});

describe('subscriptions: lists and items', () => {
  it('lists by customer, price and status, canceled ones only when asked', async () => {
    const price = await monthlyPrice(500);
    const other = await monthlyPrice(700);
    const customer = await customerWithCard();
    const first = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const second = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: other.id }] });
    await t.stripe.subscriptions.cancel(first.id);
    const ids = async (params: Stripe.SubscriptionListParams) => (await t.stripe.subscriptions.list(params)).data.map((s) => s.id);
    expect(await ids({ customer: customer.id })).toEqual([second.id]);
    expect(await ids({ customer: customer.id, status: 'all' })).toEqual([second.id, first.id]);
    expect(await ids({ customer: customer.id, status: 'canceled' })).toEqual([first.id]);
    expect(await ids({ price: other.id })).toEqual([second.id]);
    expect(await ids({ customer: customer.id, status: 'all', limit: 1, starting_after: second.id })).toEqual([first.id]);
    expect(await ids({ customer: customer.id, current_period_end: { gt: second.current_period_end } })).toEqual([]);
  });

  it('adds, changes and removes items through /v1/subscription_items', async () => {
    const seats = await monthlyPrice(1000);
    const support = await monthlyPrice(400);
    const customer = await customerWithCard();
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: seats.id }] });
    const added = await t.stripe.subscriptionItems.create({ subscription: subscription.id, price: support.id, quantity: 2, proration_behavior: 'none' });
    expect(added).toMatchObject({ object: 'subscription_item', quantity: 2, subscription: subscription.id, price: { id: support.id } });
    expect(stripeSchemaProblems('subscription_item', added)).toEqual([]);
    const changed = await t.stripe.subscriptionItems.update(added.id, { quantity: 4, proration_behavior: 'none' });
    expect(changed.quantity).toBe(4);
    expect(await t.stripe.subscriptionItems.retrieve(added.id)).toEqual(changed);
    const listed = await t.stripe.subscriptionItems.list({ subscription: subscription.id });
    expect(listed.data.map((item) => item.id).sort()).toEqual([subscription.items.data[0]!.id, added.id].sort());
    const stray = await rejection(t.stripe.subscriptionItems.list({ subscription: subscription.id, starting_after: 'si_unknown' }));
    expect(stray).toMatchObject({ statusCode: 404, param: 'starting_after' });
    const deleted = await t.stripe.subscriptionItems.del(added.id, { proration_behavior: 'none' });
    expect(deleted).toMatchObject({ id: added.id, deleted: true });
    expect((await t.stripe.subscriptions.retrieve(subscription.id)).items.data.map((item) => item.id)).toEqual([subscription.items.data[0]!.id]);
    const last = await rejection(t.stripe.subscriptionItems.del(subscription.items.data[0]!.id));
    expect(last).toMatchObject({ statusCode: 400, param: 'items' });
  });
});

describe('subscriptions: bad input', () => {
  async function refused(params: Stripe.SubscriptionCreateParams): Promise<Stripe.errors.StripeError> {
    const error = await rejection(t.stripe.subscriptions.create(params));
    expect(await stored('SELECT count(*) AS n FROM billing.subscriptions WHERE customer_id = $1', [params.customer])).toBe(0);
    expect(await stored('SELECT count(*) AS n FROM billing.invoices WHERE customer_id = $1', [params.customer])).toBe(0);
    return error;
  }

  it('refuses prices in different currencies, intervals, one-time prices and bad quantities, storing nothing', async () => {
    const customer = await customerWithCard();
    const usd = await monthlyPrice(1000);
    const eur = await t.stripe.prices.create({ currency: 'eur', unit_amount: 1000, recurring: { interval: 'month' }, product_data: { name: 'Euro seats' } });
    const yearly = await t.stripe.prices.create({ currency: 'usd', unit_amount: 9000, recurring: { interval: 'year' }, product_data: { name: 'Yearly' } });
    const once = await t.stripe.prices.create({ currency: 'usd', unit_amount: 500, product_data: { name: 'Setup' } });
    const items = (...prices: string[]) => prices.map((price) => ({ price }));
    expect(await refused({ customer: customer.id, items: items(usd.id, eur.id) })).toMatchObject({ statusCode: 400, param: 'items[1][price]' });
    expect(await refused({ customer: customer.id, items: items(usd.id, yearly.id) })).toMatchObject({ statusCode: 400, param: 'items[1][price]' });
    expect(await refused({ customer: customer.id, items: items(once.id) })).toMatchObject({ statusCode: 400, param: 'items[0][price]' });
    expect(await refused({ customer: customer.id, items: [{ price: usd.id, quantity: -1 }] })).toMatchObject({
      statusCode: 400,
      code: 'parameter_invalid_integer',
      param: 'items[0][quantity]',
    });
    expect(await refused({ customer: customer.id, items: items('price_missing') })).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'items[0][price]',
    });
  });

  it('refuses a trial end in the past, unknown customers and unsupported parameters', async () => {
    const customer = await customerWithCard();
    const price = await monthlyPrice(1000);
    const past = Math.floor(Date.now() / 1000) - 60;
    expect(await refused({ customer: customer.id, items: [{ price: price.id }], trial_end: past })).toMatchObject({ statusCode: 400, param: 'trial_end' });
    expect(await refused({ customer: 'cus_missing', items: [{ price: price.id }] })).toMatchObject({ statusCode: 404, param: 'customer' });
    expect(await refused({ customer: customer.id, items: [{ price: price.id }], coupon: 'SAVE10' })).toMatchObject({
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'coupon',
    });
    expect(await refused({ customer: customer.id, items: [{ price: price.id }], collection_method: 'send_invoice' })).toMatchObject({
      param: 'days_until_due',
    });
    // Inside the first (already billed) period: refused, with the way to end it now.
    expect(await refused({ customer: customer.id, items: [{ price: price.id }], cancel_at: past + 3 * DAY })).toMatchObject({
      statusCode: 400,
      param: 'cancel_at',
    });
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const paused = await rejection(t.stripe.subscriptions.update(subscription.id, { pause_collection: { behavior: 'void' } }));
    expect(paused).toMatchObject({ statusCode: 400, param: 'pause_collection' });
    const feedback = await rejection(t.stripe.subscriptions.cancel(subscription.id, { cancellation_details: { comment: 'too dear' } }));
    expect(feedback).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'cancellation_details' });
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toEqual(subscription);
  });
});

describe('subscriptions on a test clock', () => {
  async function advance(clock: string, frozen_time: number): Promise<void> {
    await t.stripe.testHelpers.testClocks.advance(clock, { frozen_time });
    for (let poll = 0; poll < 2_000; poll++) {
      if ((await t.stripe.testHelpers.testClocks.retrieve(clock)).status === 'ready') return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`clock ${clock} still advancing`);
  }

  it('bills from 31 January to 29 February, prorates a mid-period change at the clock’s time, and renews with it', { timeout: 120_000 }, async () => {
    const jan31 = Date.UTC(2024, 0, 31) / 1000;
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: jan31 });
    const price = await monthlyPrice(2900);
    const customer = await t.stripe.customers.create({
      test_clock: clock.id,
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(subscription).toMatchObject({
      status: 'active',
      test_clock: clock.id,
      current_period_start: jan31,
      current_period_end: Date.UTC(2024, 1, 29) / 1000,
    });
    // 15 February: 14 of the period's 29 days are left.
    await advance(clock.id, Date.UTC(2024, 1, 15) / 1000);
    await t.stripe.subscriptions.update(subscription.id, { items: [{ id: subscription.items.data[0]!.id, quantity: 2 }] });
    const pending = await t.stripe.invoiceItems.list({ customer: customer.id, pending: true });
    expect(pending.data.map((item) => item.amount).sort((a, b) => a - b)).toEqual([-1400, 2800]);
    expect(pending.data.every((item) => item.period.start === Date.UTC(2024, 1, 15) / 1000)).toBe(true);
    await advance(clock.id, Date.UTC(2024, 1, 29, 1) / 1000);
    const renewed = await t.stripe.subscriptions.retrieve(subscription.id);
    expect(renewed).toMatchObject({ status: 'active', current_period_start: Date.UTC(2024, 1, 29) / 1000, current_period_end: Date.UTC(2024, 2, 31) / 1000 });
    const cycle = await invoiceOf(renewed);
    // The new period (2 × 2900) and the change's two prorations.
    expect(cycle).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', amount_paid: 5800 + 2800 - 1400 });
    expect((await t.stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toEqual([]);
  });
});

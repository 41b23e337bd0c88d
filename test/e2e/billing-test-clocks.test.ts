import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Billing driven by test clocks, through the official SDK, as a Stripe user tests it: a year of
 * monthly renewals, a trial with its `trial_will_end`, and a dunning cycle with
 * `pm_card_chargeCustomerFail` that ends in a canceled subscription and an uncollectible invoice —
 * each in seconds, by advancing the clock and polling it until it is ready.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const DAY = 86_400;
const HOUR = 3_600;
/** 2026-01-31 12:00 UTC: a month-end anchor, so renewals land on the last day of shorter months. */
const START = Date.UTC(2026, 0, 31, 12) / 1000;
const POLL_MS = 25;
const POLLS_MAX = 2_400;

async function advance(clock: string, frozen_time: number): Promise<Stripe.TestHelpers.TestClock> {
  const advancing = await t.stripe.testHelpers.testClocks.advance(clock, { frozen_time });
  expect(advancing).toMatchObject({ status: 'advancing', frozen_time });
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    const now = await t.stripe.testHelpers.testClocks.retrieve(clock);
    if (now.status !== 'advancing') {
      expect(now).toMatchObject({ status: 'ready', frozen_time });
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`clock ${clock} still advancing`);
}

async function monthlyPrice(unit_amount: number): Promise<Stripe.Price> {
  const product = await t.stripe.products.create({ name: `Plan ${unit_amount}` });
  return t.stripe.prices.create({ product: product.id, unit_amount, currency: 'usd', recurring: { interval: 'month' } });
}

async function customerOn(clock: string, payment_method: string): Promise<Stripe.Customer> {
  return t.stripe.customers.create({ test_clock: clock, payment_method, invoice_settings: { default_payment_method: payment_method } });
}

async function invoicesOf(subscription: string): Promise<Stripe.Invoice[]> {
  const found = await t.stripe.invoices.list({ subscription, limit: 100 });
  expect(found.has_more).toBe(false);
  return [...found.data].reverse(); // oldest first
}

async function eventsFor(type: string, object_id: string): Promise<Stripe.Event[]> {
  const found = await t.stripe.events.list({ type, limit: 100 });
  return found.data.filter((event) => (event.data.object as { id: string }).id === object_id);
}

/** The n-th month boundary after START, as Stripe bills a month-end anchor. */
function monthEnd(n: number): number {
  const at = new Date(START * 1000);
  const month = at.getUTCMonth() + n;
  const last_day = new Date(Date.UTC(at.getUTCFullYear(), month + 1, 0)).getUTCDate();
  return Date.UTC(at.getUTCFullYear(), month, Math.min(31, last_day), 12) / 1000;
}

describe('billing on a test clock', () => {
  it('renews a monthly subscription twelve times in a year, one paid invoice and one charge per period', { timeout: 400_000 }, async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: START, name: 'A year of renewals' });
    const customer = await customerOn(clock.id, 'pm_card_visa');
    const price = await monthlyPrice(1_500);
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(subscription).toMatchObject({ status: 'active', current_period_start: START, current_period_end: monthEnd(1) });
    for (let month = 1; month <= 12; month++) await advance(clock.id, monthEnd(month) + 2 * HOUR);

    const after = await t.stripe.subscriptions.retrieve(subscription.id);
    expect(after).toMatchObject({ status: 'active', current_period_start: monthEnd(12), current_period_end: monthEnd(13) });
    const invoices = await invoicesOf(subscription.id);
    expect(invoices.map((invoice) => invoice.billing_reason)).toEqual(['subscription_create', ...Array<string>(12).fill('subscription_cycle')]);
    expect(invoices.every((invoice) => invoice.status === 'paid' && invoice.amount_paid === 1_500 && invoice.attempt_count === 1)).toBe(true);
    // Each cycle invoice bills the period it opens, created at the clock's time for it.
    invoices.slice(1).forEach((invoice, index) => {
      expect(invoice.lines.data[0]?.period).toEqual({ start: monthEnd(index + 1), end: monthEnd(index + 2) });
      expect(invoice.created).toBe(monthEnd(index + 1));
    });
    // February 2026 has 28 days: the anchor on the 31st renews on the 28th, then on the 31st again.
    expect(new Date(monthEnd(1) * 1000).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    const charges = await t.stripe.charges.list({ customer: customer.id, limit: 100 });
    expect(charges.data.filter((charge) => charge.status === 'succeeded')).toHaveLength(13);
    expect(new Set(invoices.map((invoice) => invoice.charge)).size).toBe(13);
    expect(await eventsFor('invoice.paid', invoices[12]?.id ?? '')).toHaveLength(1);
  });

  it('tells of a trial ending three days before, once, then bills the first period', { timeout: 200_000 }, async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: START });
    // Another card than the year's: Radar's velocity windows count that card's thirteen charges in wall-clock time.
    const customer = await customerOn(clock.id, 'pm_card_mastercard');
    const price = await monthlyPrice(900);
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], trial_period_days: 14 });
    expect(subscription).toMatchObject({ status: 'trialing', trial_end: START + 14 * DAY, current_period_end: START + 14 * DAY });

    await advance(clock.id, START + 10 * DAY);
    expect(await eventsFor('customer.subscription.trial_will_end', subscription.id)).toHaveLength(0);
    await advance(clock.id, START + 11 * DAY);
    const notices = await eventsFor('customer.subscription.trial_will_end', subscription.id);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.created).toBe(START + 11 * DAY);

    await advance(clock.id, START + 14 * DAY + 2 * HOUR);
    expect(await eventsFor('customer.subscription.trial_will_end', subscription.id)).toHaveLength(1);
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({ status: 'active', current_period_start: START + 14 * DAY });
    const invoices = await invoicesOf(subscription.id);
    expect(invoices.map((invoice) => [invoice.billing_reason, invoice.status, invoice.amount_paid])).toEqual([
      ['subscription_create', 'paid', 0],
      ['subscription_cycle', 'paid', 900],
    ]);
  });

  it('retries a failing card 8 times within two weeks, then cancels the subscription and gives up on the invoice', { timeout: 200_000 }, async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: START });
    const customer = await customerOn(clock.id, 'pm_card_chargeCustomerFail');
    const price = await monthlyPrice(2_000);
    // A trial, so the first charge is the renewal's: a failed first invoice would leave it incomplete instead.
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], trial_period_days: 3 });
    const trial_end = START + 3 * DAY;

    await advance(clock.id, trial_end + 2 * HOUR);
    expect((await t.stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    const [, renewal] = await invoicesOf(subscription.id);
    expect(renewal).toMatchObject({ status: 'open', attempt_count: 1, next_payment_attempt: trial_end + HOUR + DAY });

    await advance(clock.id, trial_end + 20 * DAY);
    const ended = await t.stripe.invoices.retrieve(renewal?.id ?? '');
    expect(ended).toMatchObject({ status: 'uncollectible', attempt_count: 8, next_payment_attempt: null, amount_paid: 0 });
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({ status: 'canceled', ended_at: trial_end + HOUR + 14 * DAY });
    const failures = await eventsFor('invoice.payment_failed', ended.id);
    expect(failures.map((event) => event.created).sort()).toEqual([0, 1, 2, 3, 5, 7, 10, 14].map((day) => trial_end + HOUR + day * DAY));
    expect(await eventsFor('customer.subscription.deleted', subscription.id)).toHaveLength(1);
    const charges = await t.stripe.charges.list({ customer: customer.id, limit: 100 });
    expect(charges.data.filter((charge) => charge.status === 'succeeded')).toHaveLength(0);
    expect(charges.data.filter((charge) => charge.status === 'failed')).toHaveLength(8);
  });

  it('stops at a hard decline: no retry after a stolen card', { timeout: 200_000 }, async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: START });
    const customer = await customerOn(clock.id, 'pm_card_visa');
    const price = await monthlyPrice(700);
    const subscription = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const stolen = await t.stripe.paymentMethods.attach('pm_card_visa_chargeDeclinedStolenCard', { customer: customer.id });
    await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: stolen.id } });

    await advance(clock.id, monthEnd(1) + 2 * HOUR);
    await advance(clock.id, monthEnd(1) + 20 * DAY);
    const [, renewal] = await invoicesOf(subscription.id);
    expect(renewal).toMatchObject({ status: 'uncollectible', attempt_count: 1 });
    expect(await t.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({ status: 'canceled' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { Browser, Page } from 'playwright-core';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import type { MerchantSite } from './support.js';
import { launchBrowser, openPage, startMerchantSite } from './support.js';

/** The hosted Checkout page in a real browser: pay, 3-D Secure, declines, keyboard use, expiry. */

let t: TestPlatform;
let browser: Browser;
let shop: MerchantSite;
beforeAll(async () => {
  [t, browser, shop] = await Promise.all([startTestPlatform(), launchBrowser(), startMerchantSite()]);
});
afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await t?.stop();
});

async function newSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}): Promise<Stripe.Checkout.Session> {
  return t.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'usd', product_data: { name: 'Notebook' }, unit_amount: 1500 }, quantity: 2 },
      { price_data: { currency: 'usd', product_data: { name: 'Pen' }, unit_amount: 250 }, quantity: 1 },
    ],
    success_url: `${shop.origin}/thanks?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${shop.origin}/cart`,
    ...extra,
  });
}

async function fillCard(page: Page, number: string): Promise<void> {
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Name on card').fill('Ada Lovelace');
  await page.getByLabel('Card number').fill(number);
  await page.getByLabel('Expiry (MM / YY)').fill('12 / 34');
  await page.getByLabel('Security code (CVC)').fill('123');
}

async function completedEvents(session_id: string): Promise<Stripe.Event[]> {
  const events = await t.stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
  return events.data.filter((event) => (event.data.object as { id: string }).id === session_id);
}

describe('hosted Checkout', () => {
  it('shows the order, takes a card and returns to success_url with the session id; the session completes once', async () => {
    const session = await newSession({ metadata: { order: '42' }, payment_intent_data: { metadata: { order: '42' }, description: 'Order 42' } });
    const { context, page, errors } = await openPage(browser);
    await page.goto(session.url!);
    await expect.poll(() => page.getByRole('heading', { name: 'Your order' }).isVisible()).toBe(true);
    expect(await page.locator('#items li').allTextContents()).toEqual(['Notebook × 2 — $30.00', 'Pen × 1 — $2.50']);
    expect(await page.getByRole('link', { name: 'Cancel and go back' }).getAttribute('href')).toBe(`${shop.origin}/cart`);
    await fillCard(page, '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Pay $32.50' }).click();
    await page.waitForURL(`${shop.origin}/thanks?session_id=${session.id}`);
    expect(errors).toEqual([]);
    await context.close();

    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['payment_intent'] });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid', url: null, customer_details: { email: 'ada@example.com', name: 'Ada Lovelace' } });
    expect(stripeSchemaProblems('checkout.session', { ...done, payment_intent: (done.payment_intent as Stripe.PaymentIntent).id })).toEqual([]);
    const intent = done.payment_intent as Stripe.PaymentIntent;
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount: 3250,
      currency: 'usd',
      description: 'Order 42',
      metadata: { order: '42' },
      receipt_email: 'ada@example.com',
    });
    const events = await completedEvents(session.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.data.object).toMatchObject({ status: 'complete', payment_intent: intent.id });
    expect((await t.stripe.checkout.sessions.list({ payment_intent: intent.id })).data.map((s) => s.id)).toEqual([session.id]);
    // The card reached the vault only: no log line, event or stored answer carries the number.
    expect(t.logs.join('\n')).not.toMatch(/4242\s?4242\s?4242\s?4242/);
    expect(JSON.stringify(events)).not.toContain('4242424242424242');
    const stored = await t.owner.query<{ body: string }>(`SELECT row_to_json(k)::text AS body FROM gateway.idempotency_keys k`);
    expect(stored.rows.map((row) => row.body).join('\n')).not.toContain('4242424242424242');
  });

  it('announces a decline, then a failed 3-D Secure, then pays with 3-D Secure on the same PaymentIntent', async () => {
    const session = await newSession();
    const { context, page } = await openPage(browser);
    await page.goto(session.url!);
    await fillCard(page, '4000 0000 0000 0002');
    await page.getByRole('button', { name: /^Pay/ }).click();
    const alert = page.getByRole('alert').filter({ hasText: /declined/ });
    await expect.poll(() => alert.textContent()).toBe('Your card was declined.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('form-error');

    await page.getByLabel('Card number').fill('4000 0025 0000 3155');
    await page.getByRole('button', { name: /^Pay/ }).click();
    const challenge = page.getByRole('dialog', { name: 'Confirm this payment with your bank' });
    await challenge.getByRole('button', { name: 'Fail authentication' }).click();
    await expect.poll(() => page.locator('#form-error').textContent()).toMatch(/failed authentication/);

    await page.getByRole('button', { name: /^Pay/ }).click();
    await challenge.getByRole('button', { name: 'Complete authentication' }).click();
    await page.waitForURL(`${shop.origin}/thanks?session_id=${session.id}`);
    await context.close();

    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const intent = await t.stripe.paymentIntents.retrieve(done.payment_intent as string);
    expect(intent.status).toBe('succeeded');
    const charges = await t.stripe.charges.list({ payment_intent: intent.id });
    // One charge paid; the declined card's attempt failed. Only one PaymentIntent was ever made for the session.
    expect(charges.data.filter((charge) => charge.status === 'succeeded' && charge.captured)).toHaveLength(1);
    expect(charges.data.filter((charge) => charge.status === 'failed').length).toBeGreaterThanOrEqual(1);
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data.filter((pi) => pi.id === intent.id)).toHaveLength(1);
    expect(await completedEvents(session.id)).toHaveLength(1);
  });

  it('can be completed with the keyboard alone, and says which field is wrong', async () => {
    const session = await newSession({ customer_email: 'grace@example.com' });
    const { context, page } = await openPage(browser);
    await page.goto(session.url!);
    await expect.poll(() => page.getByLabel('Email').inputValue()).toBe('grace@example.com');
    await page.getByLabel('Name on card').focus();
    await page.keyboard.type('Grace Hopper');
    await page.keyboard.press('Tab');
    await page.keyboard.type('4242 4242 4242 4241');
    await page.keyboard.press('Tab');
    await page.keyboard.type('1234');
    await page.keyboard.press('Tab');
    await page.keyboard.type('123');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByLabel('Card number').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#card-number-error').textContent()).toBe('Your card number is invalid.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('card-number');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('2');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Pay $32.50');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${shop.origin}/thanks?session_id=${session.id}`);
    await context.close();
    expect(await t.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({ status: 'complete', customer_details: { email: 'grace@example.com' } });
  });

  it('saves a card to the customer in setup mode, through 3-D Secure', async () => {
    const customer = await t.stripe.customers.create({ email: 'ada@example.com' });
    const session = await t.stripe.checkout.sessions.create({ mode: 'setup', currency: 'usd', customer: customer.id, success_url: `${shop.origin}/saved` });
    const { context, page } = await openPage(browser);
    await page.goto(session.url!);
    await fillCard(page, '4000 0025 0000 3155');
    await page.getByRole('button', { name: 'Save card' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Complete authentication' }).click();
    await page.waitForURL(`${shop.origin}/saved`);
    await context.close();
    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'no_payment_required', payment_intent: null, customer: customer.id });
    expect(stripeSchemaProblems('checkout.session', done)).toEqual([]);
    const setup = await t.stripe.setupIntents.retrieve(done.setup_intent as string);
    expect(setup).toMatchObject({ status: 'succeeded', customer: customer.id, usage: 'off_session' });
    const methods = await t.stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((method) => method.card?.last4)).toEqual(['3155']);
    expect(await completedEvents(session.id)).toHaveLength(1);
  });

  it('refuses a link without its secret, and shows an expired session as expired', async () => {
    const session = await newSession();
    const { context, page } = await openPage(browser);
    await page.goto(session.url!.replace(/#.*$/, '#wrong-secret'));
    await expect.poll(() => page.getByRole('status').textContent()).toBe('This checkout link is not valid.');
    expect(await page.locator('#items li').count()).toBe(0);
    await t.stripe.checkout.sessions.expire(session.id);
    await page.goto('about:blank');
    await page.goto(session.url!);
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/expired/);
    expect(await page.getByRole('button', { name: /^Pay/ }).isVisible()).toBe(false);
    await context.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { MerchantSite } from './support.js';
import { launchBrowser, merchantPage, merchantWithKeys, openPage, startMerchantSite } from './support.js';

/**
 * The Payment Element with confirmPayment and confirmSetup, as Stripe's current guides write them:
 * `stripe.elements({ clientSecret })`, `elements.create('payment')`, `elements.submit()`, then confirm
 * with a return_url, redirecting or not.
 */

let t: TestPlatform;
let browser: Browser;
let shop: MerchantSite;
let merchant: { publishable_key: string; stripe: Stripe };

const FORM = '<form id="payment-form"><div id="payment-element"></div><button type="submit">Submit</button></form>';

/** The merchant's page: `confirm` is confirmPayment or confirmSetup; `redirect` is Stripe's option. */
function pageScript(confirm: 'confirmPayment' | 'confirmSetup', redirect: 'always' | 'if_required'): string {
  return `const params = new URLSearchParams(window.location.search);
    const elements = stripe.elements({ clientSecret: params.get('secret') });
    const paymentElement = elements.create('payment');
    paymentElement.mount('#payment-element');
    paymentElement.on('change', (event) => window.changes.push(event));
    document.getElementById('payment-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const submitted = await elements.submit();
      if (submitted.error) return show(submitted);
      show(await stripe.${confirm}({ elements, confirmParams: { return_url: window.location.origin + '/complete' }, redirect: '${redirect}' }));
    });`;
}

beforeAll(async () => {
  [t, browser, shop] = await Promise.all([startTestPlatform(), launchBrowser(), startMerchantSite()]);
  merchant = await merchantWithKeys(t);
  shop.page('/pay', merchantPage(t.url, merchant.publishable_key, FORM, pageScript('confirmPayment', 'if_required')));
  shop.page('/pay-redirect', merchantPage(t.url, merchant.publishable_key, FORM, pageScript('confirmPayment', 'always')));
  shop.page('/save', merchantPage(t.url, merchant.publishable_key, FORM, pageScript('confirmSetup', 'if_required')));
  // Stripe's "collect payment details before creating an intent": the intent's secret comes at confirm time.
  shop.page(
    '/deferred',
    merchantPage(
      t.url,
      merchant.publishable_key,
      FORM,
      `const elements = stripe.elements({ mode: 'payment', amount: 2500, currency: 'usd', appearance: { theme: 'night' } });
       elements.create('payment').mount('#payment-element');
       document.getElementById('payment-form').addEventListener('submit', async (event) => {
         event.preventDefault();
         const submitted = await elements.submit();
         if (submitted.error) return show(submitted);
         const clientSecret = await window.createIntentOnServer();
         show(await stripe.confirmPayment({ elements, clientSecret, confirmParams: { return_url: window.location.origin + '/complete' }, redirect: 'if_required' }));
       });`,
    ),
  );
});
afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await t?.stop();
});

async function open(path: string, secret: string): Promise<{ page: Page; element: FrameLocator; close: () => Promise<void> }> {
  const { context, page, errors } = await openPage(browser);
  await page.goto(`${shop.origin}${path}?secret=${encodeURIComponent(secret)}`);
  return {
    page,
    element: page.frameLocator('iframe[title="Secure payment input frame"]'),
    close: async () => {
      expect(errors).toEqual([]);
      await context.close();
    },
  };
}

async function typeCard(element: FrameLocator, number: string): Promise<void> {
  await element.getByLabel('Card number').fill(number);
  await element.getByLabel('Expiration date').fill('12 / 34');
  await element.getByLabel('Security code').fill('123');
}

async function resultOf(page: Page): Promise<string> {
  await expect.poll(() => page.locator('#result').textContent(), { timeout: 15_000 }).not.toBe('');
  return (await page.locator('#result').textContent()) ?? '';
}

describe('Payment Element with confirmPayment', () => {
  it('pays and answers { paymentIntent } with redirect: if_required; elements.submit() reports an empty form first', async () => {
    const intent = await merchant.stripe.paymentIntents.create({ amount: 4500, currency: 'eur', automatic_payment_methods: { enabled: true } });
    const { page, element, close } = await open('/pay', intent.client_secret!);
    await page.getByRole('button', { name: 'Submit' }).click();
    expect(await resultOf(page)).toBe('error: incomplete_number');
    await page.evaluate(() => (document.getElementById('result')!.textContent = ''));
    await typeCard(element, '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Submit' }).click();
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    await close();
    expect(await merchant.stripe.paymentIntents.retrieve(intent.id)).toMatchObject({ status: 'succeeded', amount_received: 4500 });
  });

  it('redirects to return_url with the intent, its client secret and redirect_status, after 3-D Secure', async () => {
    const intent = await merchant.stripe.paymentIntents.create({ amount: 1999, currency: 'usd' });
    const { page, element, close } = await open('/pay-redirect', intent.client_secret!);
    await typeCard(element, '4000 0025 0000 3155');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.frameLocator('iframe[title="3-D Secure authentication"]').getByRole('button', { name: 'Complete authentication' }).click();
    await page.waitForURL(/\/complete\?/);
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({
      payment_intent: intent.id,
      payment_intent_client_secret: intent.client_secret,
      redirect_status: 'succeeded',
    });
    await close();
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });
});

describe('Payment Element with a deferred intent', () => {
  it('collects the card first, then confirms the intent the server made after elements.submit()', async () => {
    const { context, page, errors } = await openPage(browser);
    let created: Stripe.PaymentIntent | undefined;
    await page.exposeFunction('createIntentOnServer', async () => {
      created = await merchant.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', automatic_payment_methods: { enabled: true } });
      return created.client_secret;
    });
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await page.goto(`${shop.origin}/deferred`);
    await typeCard(page.frameLocator('iframe[title="Secure payment input frame"]'), '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Submit' }).click();
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    expect(errors).toEqual([]);
    // Options Payrail.js does not apply are said, not silently dropped.
    expect(warnings).toEqual(['Payrail.js: elements() option "appearance" is not supported and has no effect.']);
    await context.close();
    expect(await merchant.stripe.paymentIntents.retrieve(created!.id)).toMatchObject({ status: 'succeeded', amount_received: 2500 });
  });
});

describe('Payment Element with confirmSetup', () => {
  it('saves a card to the customer with a SetupIntent; the server then charges it off session', async () => {
    const customer = await merchant.stripe.customers.create({ email: 'ada@example.com' });
    const setup = await merchant.stripe.setupIntents.create({ customer: customer.id, usage: 'off_session', payment_method_types: ['card'] });
    const { page, element, close } = await open('/save', setup.client_secret!);
    await typeCard(element, '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Submit' }).click();
    expect(await resultOf(page)).toBe('setup_intent: succeeded');
    await close();
    const saved = await merchant.stripe.setupIntents.retrieve(setup.id);
    expect(saved.status).toBe('succeeded');
    const methods = await merchant.stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((method) => method.card?.last4)).toEqual(['4242']);
    const later = await merchant.stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      customer: customer.id,
      payment_method: saved.payment_method as string,
      off_session: true,
      confirm: true,
    });
    expect(later.status).toBe('succeeded');
  });

  it('passes 3-D Secure while saving 4000002500003155, so later off-session payments need none', async () => {
    const customer = await merchant.stripe.customers.create({ email: 'grace@example.com' });
    const setup = await merchant.stripe.setupIntents.create({ customer: customer.id, usage: 'off_session' });
    const { page, element, close } = await open('/save', setup.client_secret!);
    await typeCard(element, '4000 0025 0000 3155');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.frameLocator('iframe[title="3-D Secure authentication"]').getByRole('button', { name: 'Complete authentication' }).click();
    expect(await resultOf(page)).toBe('setup_intent: succeeded');
    await close();
    const saved = await merchant.stripe.setupIntents.retrieve(setup.id);
    const later = await merchant.stripe.paymentIntents.create({
      amount: 800,
      currency: 'usd',
      customer: customer.id,
      payment_method: saved.payment_method as string,
      off_session: true,
      confirm: true,
    });
    expect(later.status).toBe('succeeded');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { Browser, FrameLocator, Page, Request } from 'playwright-core';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { MerchantSite } from './support.js';
import { launchBrowser, merchantPage, merchantWithKeys, openPage, startMerchantSite } from './support.js';

/** Payrail.js on a merchant's page (another origin), as Stripe's card-payment guides use Stripe.js. */

let t: TestPlatform;
let browser: Browser;
let shop: MerchantSite;
let merchant: { publishable_key: string; stripe: Stripe };
beforeAll(async () => {
  [t, browser, shop] = await Promise.all([startTestPlatform(), launchBrowser(), startMerchantSite()]);
  merchant = await merchantWithKeys(t);
  shop.page(
    '/card',
    merchantPage(
      t.url,
      merchant.publishable_key,
      '<form id="payment-form"><div id="card-element"></div><button type="submit">Pay</button></form>',
      `const card = stripe.elements().create('card');
       card.mount('#card-element');
       card.on('change', (event) => window.changes.push(event));
       document.getElementById('payment-form').addEventListener('submit', async (event) => {
         event.preventDefault();
         show(await stripe.confirmCardPayment(window.clientSecret, { payment_method: { card, billing_details: { name: 'Ada Lovelace' } } }));
       });
       window.createMethod = async () => show(await stripe.createPaymentMethod({ type: 'card', card }));
       window.makeToken = async () => {
         const result = await stripe.createToken(card, { name: 'Ada Lovelace', address_zip: '12345' });
         window.result = result;
         document.getElementById('result').textContent = result.error ? 'error: ' + result.error.code : 'token: ' + result.token.card.last4;
       };
       window.confirmInTwoSteps = async () => {
         const first = await stripe.confirmCardPayment(window.clientSecret, { payment_method: { card } }, { handleActions: false });
         window.firstStatus = first.paymentIntent.status;
         show(await stripe.confirmCardPayment(window.clientSecret));
       };`,
    ),
  );
});
afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await t?.stop();
});

/** The page's `Stripe` instance, kept on window.payrail by merchantPage (functions run in the page must name it inline). */
type PayrailWindow = {
  payrail: { handleNextAction(options: { clientSecret: string }): Promise<unknown>; retrievePaymentIntent(clientSecret: string): Promise<unknown> };
};

const CARD_FRAME = 'iframe[title="Secure card payment input frame"]';

async function openCardPage(client_secret: string): Promise<{ page: Page; card: FrameLocator; requests: Request[]; close: () => Promise<void> }> {
  const { context, page, errors } = await openPage(browser);
  const requests: Request[] = [];
  context.on('request', (request) => requests.push(request));
  await page.goto(`${shop.origin}/card`);
  await page.evaluate((secret) => ((window as unknown as { clientSecret: string }).clientSecret = secret), client_secret);
  const card = page.frameLocator(CARD_FRAME);
  return {
    page,
    card,
    requests,
    close: async () => {
      expect(errors).toEqual([]);
      await context.close();
    },
  };
}

async function typeCard(card: FrameLocator, number: string): Promise<void> {
  await card.getByLabel('Card number').fill(number);
  await card.getByLabel('Expiration date').fill('1234');
  await card.getByLabel('Security code').fill('123');
}

async function resultOf(page: Page): Promise<string> {
  await expect.poll(() => page.locator('#result').textContent(), { timeout: 15_000 }).not.toBe('');
  return (await page.locator('#result').textContent()) ?? '';
}

function newIntent(amount = 2000): Promise<Stripe.PaymentIntent> {
  return merchant.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method_types: ['card'] });
}

describe('Payrail.js card Element', () => {
  it('pays with 4242 through confirmCardPayment, answering { paymentIntent } as Stripe.js does', async () => {
    const intent = await newIntent();
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4242424242424242');
    await page.getByRole('button', { name: 'Pay' }).click();
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    const result = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as { paymentIntent: Stripe.PaymentIntent };
    expect(result.paymentIntent).toMatchObject({ id: intent.id, status: 'succeeded', amount: 2000 });
    const changes = (await page.evaluate(() => (window as unknown as { changes: unknown[] }).changes)) as { complete: boolean; brand: string }[];
    expect(changes.at(-1)).toMatchObject({ elementType: 'card', complete: true, empty: false, brand: 'visa' });
    await close();
    const paid = await merchant.stripe.paymentIntents.retrieve(intent.id, { expand: ['payment_method'] });
    expect(paid.status).toBe('succeeded');
    expect(paid.payment_method).toMatchObject({ card: { last4: '4242', brand: 'visa' }, billing_details: { name: 'Ada Lovelace' } });
  });

  it('never lets the merchant page see the card number: not in its DOM, events, messages or requests', async () => {
    const intent = await newIntent();
    const { page, card, requests, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Pay' }).click();
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    const seen = await page.evaluate(() => {
      const w = window as unknown as { changes: unknown[]; messages: string[]; result: unknown };
      const frame = document.querySelector('iframe') as HTMLIFrameElement;
      return {
        html: document.documentElement.outerHTML,
        state: JSON.stringify([w.changes, w.messages, w.result]),
        frame_document: frame.contentDocument === null,
      };
    });
    const numbers = [/4242\s?4242\s?4242\s?4242/, /424242/];
    for (const pattern of numbers) {
      expect(seen.html).not.toMatch(pattern);
      expect(seen.state).not.toMatch(pattern);
    }
    expect(seen.frame_document).toBe(true);
    // The number left the browser once: from the card frame, to Payrail's /v1/payment_methods.
    const carrying = requests.filter((request) => /4242\s?4242\s?4242\s?4242/.test(request.postData() ?? ''));
    expect(carrying.map((request) => [new URL(request.url()).pathname, new URL(request.frame().url()).pathname])).toEqual([
      ['/v1/payment_methods', '/js/v3/card-frame.html'],
    ]);
    expect(shop.requests.some((request) => /4242/.test(request.body + request.path))).toBe(false);
    expect(t.logs.join('\n')).not.toMatch(/4242\s?4242\s?4242\s?4242/);
    await close();
  });

  it('reports incomplete and invalid cards as validation errors, without calling Payrail', async () => {
    const intent = await newIntent();
    const { page, card, requests, close } = await openCardPage(intent.client_secret!);
    await card.getByLabel('Card number').fill('4242 4242 4242 4241');
    await expect
      .poll(async () => (await page.evaluate(() => (window as unknown as { changes: { error?: { code: string } }[] }).changes.at(-1)?.error?.code)) ?? null)
      .toBe('invalid_number');
    await card.getByLabel('Card number').fill('4242 4242');
    await page.getByRole('button', { name: 'Pay' }).click();
    expect(await resultOf(page)).toBe('error: incomplete_number');
    expect(requests.filter((request) => request.url().includes('/v1/payment_intents/') && request.method() === 'POST')).toEqual([]);
    await close();
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
  });

  it('answers a decline as { error } with the card_error and the PaymentIntent', async () => {
    const intent = await newIntent();
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4000000000000002');
    await page.getByRole('button', { name: 'Pay' }).click();
    expect(await resultOf(page)).toBe('error: card_declined');
    const error = await page.evaluate(() => (window as unknown as { result: { error: Record<string, unknown> } }).result.error);
    expect(error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' });
    await close();
  });
});

describe('Payrail.js legacy tokens', () => {
  it('createToken makes a card token the server charges through the Charges API', async () => {
    const { page, card, close } = await openCardPage('');
    await card.getByLabel('Card number').fill('4242');
    await page.evaluate(() => (window as unknown as { makeToken: () => Promise<void> }).makeToken());
    expect(await resultOf(page)).toBe('error: incomplete_number');
    await typeCard(card, '5555555555554444');
    await page.evaluate(() => (window as unknown as { makeToken: () => Promise<void> }).makeToken());
    await expect.poll(() => page.locator('#result').textContent()).toBe('token: 4444');
    const token = await page.evaluate(() => (window as unknown as { result: { token: { id: string; card: { brand: string; name: string } } } }).result.token);
    expect(token.card).toMatchObject({ brand: 'MasterCard', name: 'Ada Lovelace' });
    await close();
    const charge = await merchant.stripe.charges.create({ amount: 1500, currency: 'usd', source: token.id });
    expect(charge).toMatchObject({ status: 'succeeded', paid: true, amount: 1500 });
  });
});

describe('Payrail.js frames and origins', () => {
  it('sends nothing to a page that frames the card fields while claiming to be another origin', async () => {
    const attacker = await startMerchantSite();
    const settings = encodeURIComponent(JSON.stringify({ parent: shop.origin, key: merchant.publishable_key, type: 'card' }));
    attacker.page(
      '/steal',
      `<!doctype html><title>Not the shop</title>
       <script>window.messages = []; window.addEventListener('message', (e) => window.messages.push(JSON.stringify(e.data)));</script>
       <iframe title="card" src="${t.url}/js/v3/card-frame.html#${settings}"></iframe>`,
    );
    const { context, page } = await openPage(browser);
    await page.goto(`${attacker.origin}/steal`);
    await page.frameLocator('iframe[title="card"]').getByLabel('Card number').fill('4242 4242 4242 4242');
    // Messages from one frame to one window arrive in order: once the frame's own sentinel has arrived,
    // anything the frame sent before it (ready, change) would have too, had the browser delivered it.
    const frame = page.frames().find((candidate) => candidate.url().includes('/js/v3/card-frame.html'))!;
    await frame.evaluate(() => window.parent.postMessage('sentinel', '*'));
    await expect.poll(() => page.evaluate(() => (window as unknown as { messages: string[] }).messages)).toEqual(['"sentinel"']);
    await context.close();
    await attacker.close();
  });
});

describe('Payrail.js 3-D Secure', () => {
  it('shows the challenge in a modal for 4000002500003155; completing it succeeds', async () => {
    const intent = await newIntent(3100);
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4000002500003155');
    await page.getByRole('button', { name: 'Pay' }).click();
    const challenge = page.frameLocator('iframe[title="3-D Secure authentication"]');
    await challenge.getByRole('button', { name: 'Complete authentication' }).click();
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    expect(await page.locator('[data-payrail-3ds]').count()).toBe(0);
    await close();
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('answers a failed challenge as payment_intent_authentication_failure', async () => {
    const intent = await newIntent();
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4000002500003155');
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.frameLocator('iframe[title="3-D Secure authentication"]').getByRole('button', { name: 'Fail authentication' }).click();
    expect(await resultOf(page)).toBe('error: payment_intent_authentication_failure');
    await close();
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
  });

  it('confirms with handleActions: false, then authenticates on a second confirmCardPayment(clientSecret)', async () => {
    const intent = await newIntent();
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4000002760003184');
    const done = page.evaluate(() => (window as unknown as { confirmInTwoSteps: () => Promise<void> }).confirmInTwoSteps());
    await page.frameLocator('iframe[title="3-D Secure authentication"]').getByRole('button', { name: 'Complete authentication' }).click();
    await done;
    expect(await page.evaluate(() => (window as unknown as { firstStatus: string }).firstStatus)).toBe('requires_action');
    expect(await resultOf(page)).toBe('payment_intent: succeeded');
    await close();
    expect((await merchant.stripe.charges.list({ payment_intent: intent.id })).data.map((charge) => charge.status)).toEqual(['succeeded']);
  });

  it('handleNextAction completes 3-D Secure for an intent the server confirmed (4000000000003220)', async () => {
    const intent = await newIntent();
    const { page, card, close } = await openCardPage(intent.client_secret!);
    await typeCard(card, '4000000000003220');
    await page.evaluate(() => (window as unknown as { createMethod: () => Promise<void> }).createMethod());
    const method = await page.evaluate(
      () => (window as unknown as { result: { paymentMethod: { id: string; card: { last4: string } } } }).result.paymentMethod,
    );
    expect(method.card.last4).toBe('3220');
    const confirmed = await merchant.stripe.paymentIntents.confirm(intent.id, { payment_method: method.id, return_url: `${shop.origin}/done` });
    expect(confirmed.status).toBe('requires_action');
    const handled = page.evaluate((secret) => (window as unknown as PayrailWindow).payrail.handleNextAction({ clientSecret: secret }), intent.client_secret!);
    await page.frameLocator('iframe[title="3-D Secure authentication"]').getByRole('button', { name: 'Complete authentication' }).click();
    expect(await handled).toMatchObject({ paymentIntent: { id: intent.id, status: 'succeeded' } });
    const retrieved = await page.evaluate((secret) => (window as unknown as PayrailWindow).payrail.retrievePaymentIntent(secret), intent.client_secret!);
    expect(retrieved).toMatchObject({ paymentIntent: { id: intent.id, status: 'succeeded' } });
    await close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import type { Browser } from 'playwright-core';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { launchBrowser, merchantWithKeys, openPage } from './support.js';

/**
 * The pages a customer uses, audited with axe-core against WCAG 2.1 A and AA: the hosted Checkout page
 * (as loaded, with field errors shown, and with the 3-D Secure dialog open), the card fields frame and
 * the 3-D Secure challenge frame.
 */

let t: TestPlatform;
let browser: Browser;
let publishable_key: string;
beforeAll(async () => {
  [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
  publishable_key = (await merchantWithKeys(t)).publishable_key;
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

interface Violation {
  id: string;
  nodes: { target: unknown[] }[];
}

/** axe runs through the DevTools protocol, which the pages' script policy does not govern. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Violation[] }> } }).axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
    }),
  );
  return results.violations.map((violation) => `${violation.id}: ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
}

async function checkoutPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const session = await t.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price_data: { currency: 'eur', product_data: { name: 'Ticket' }, unit_amount: 4000 }, quantity: 1 }],
    success_url: 'https://shop.example/done',
    cancel_url: 'https://shop.example/cart',
  });
  const { context, page } = await openPage(browser);
  await page.goto(session.url!);
  await expect.poll(() => page.getByRole('button', { name: /^Pay/ }).isVisible()).toBe(true);
  return { page, close: () => context.close() };
}

describe('accessibility (axe-core, WCAG 2.1 AA)', () => {
  it('the hosted Checkout page as loaded, and with its field errors shown', async () => {
    const { page, close } = await checkoutPage();
    expect(await violations(page)).toEqual([]);
    await page.getByRole('button', { name: /^Pay/ }).click();
    await expect.poll(() => page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    expect(await violations(page)).toEqual([]);
    await close();
  });

  it('the hosted Checkout page with the 3-D Secure dialog open', async () => {
    const { page, close } = await checkoutPage();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Card number').fill('4000 0025 0000 3155');
    await page.getByLabel('Expiry (MM / YY)').fill('12 / 34');
    await page.getByLabel('Security code (CVC)').fill('123');
    await page.getByRole('button', { name: /^Pay/ }).click();
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(true);
    expect(await violations(page)).toEqual([]);
    await close();
  });

  it('the card fields frame and the 3-D Secure challenge frame', async () => {
    const { context, page } = await openPage(browser);
    for (const type of ['card', 'payment']) {
      await page.goto(`${t.url}/js/v3/card-frame.html#${encodeURIComponent(JSON.stringify({ key: publishable_key, type }))}`);
      await page.getByLabel('Card number').fill('4242 4242 4242 4241');
      expect(await violations(page), type).toEqual([]);
    }
    await page.goto(`${t.url}/js/v3/three-d-secure.html#${encodeURIComponent(JSON.stringify({ key: publishable_key, kind: 'payment_intent' }))}`);
    expect(await violations(page)).toEqual([]);
    await context.close();
  });
});

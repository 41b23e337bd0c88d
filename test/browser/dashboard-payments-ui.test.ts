import type Stripe from 'stripe';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform } from '../support/platform.js';
import { waitFor } from '../support/webhook-receiver.js';
import { createUsers, postAsPage, requireBuiltDashboard, signedInPage } from './dashboard-support.js';
import { launchBrowser } from './support.js';

/**
 * The payments pages in Chromium: find a payment by filters, refund part of it behind the
 * confirmation, see the refund in its timeline and in the balance; a read-only user gets no Refund
 * button and the API refuses its refund; no card number or key ever reaches the browser.
 */

let t: TestPlatform;
let browser: Browser;
let wanted: Stripe.PaymentIntent;

const CARD_NUMBERS = ['4242424242424242', '5555555555554444'];

beforeAll(async () => {
  requireBuiltDashboard();
  [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
  await createUsers(t, ['owner', 'analyst']);
  const customer = await t.stripe.customers.create({ email: 'find-me@example.com' });
  wanted = await t.stripe.paymentIntents.create({
    amount: 5000,
    currency: 'usd',
    customer: customer.id,
    payment_method: 'pm_card_mastercard',
    confirm: true,
    metadata: { order: 'A-1' },
  });
  for (const amount of [1200, 3400]) {
    await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { order: 'other' } });
  }
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function usdBalance(): Promise<number> {
  const balance = await t.stripe.balance.retrieve();
  return [...balance.available, ...balance.pending].filter((m) => m.currency === 'usd').reduce((sum, m) => sum + m.amount, 0);
}

describe('payments in the browser', { timeout: 90_000 }, () => {
  it('finds a payment by filters, refunds part of it, and shows the refund in its timeline and the balance', async () => {
    // The ledger posts each charge a moment after it succeeds: start from a balance with all three in.
    await waitFor('the three charges in the balance', async () => (await t.stripe.balanceTransactions.list({ type: 'charge' })).data.length === 3);
    const before = await usdBalance();
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    await page.getByRole('link', { name: 'Payments' }).click();
    const table = page.getByRole('table', { name: 'Payments' });
    await expect.poll(() => table.getByRole('row').count()).toBe(4);

    await page.getByLabel('Customer email').fill('find-me@example.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    await page.getByLabel('Customer email').fill('');
    await page.getByLabel('Card last4').fill('4444');
    await page.getByLabel('Metadata key').fill('order');
    await page.getByLabel('Metadata value').fill('A-1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => table.getByRole('row').nth(1).textContent()).toContain('$50.00');
    expect(await table.getByRole('row').count()).toBe(2);

    await table.getByRole('link', { name: '$50.00' }).click();
    await page.getByRole('heading', { name: '$50.00' }).waitFor();
    expect(page.url()).toContain(`/dashboard/payments/${wanted.id}`);
    await page.getByRole('button', { name: 'Refund', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Refund payment' });
    await dialog.getByLabel('Refund amount').fill('20');
    await dialog.getByRole('button', { name: 'Confirm refund' }).click();
    await expect.poll(() => page.getByText('Refunded $20.00').isVisible()).toBe(true);
    const timeline = page.getByLabel('Payment timeline');
    await expect.poll(() => timeline.textContent()).toMatch(/Refund re_\w+ succeeded/);
    expect((await t.stripe.paymentIntents.retrieve(wanted.id, { expand: ['latest_charge'] })).latest_charge).toMatchObject({ amount_refunded: 2000 });

    await waitFor('the refund in the balance', async () => (await usdBalance()) === before - 2000);
    const balance = await t.stripe.balance.retrieve();
    await page.getByRole('link', { name: 'Balances' }).click();
    for (const [label, amounts] of [
      ['Available balance', balance.available],
      ['Pending balance', balance.pending],
    ] as const) {
      const usd = amounts.find((m) => m.currency === 'usd')?.amount ?? 0;
      const shown = new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' }).format(usd / 100);
      await expect.poll(() => page.getByLabel(label).textContent()).toContain(shown);
    }
    await expect.poll(() => page.getByRole('table', { name: 'Balance transactions' }).textContent()).toContain('-$20.00');

    await dashboard.close();
    expect(dashboard.errors).toEqual([]);
    const leaks = dashboard.bodies.filter(
      (b) => [...CARD_NUMBERS, TEST_SECRET_KEY].some((secret) => b.body.includes(secret)) || /"cvc"\s*:\s*"\d/.test(b.body),
    );
    expect(leaks.map((b) => b.url)).toEqual([]);
    expect(dashboard.bodies.some((b) => b.url.includes(`/dashboard/api/payments/${wanted.id}`))).toBe(true);
  });

  it('gives a read-only user no Refund button, and the API refuses its refund with its session and CSRF token', async () => {
    const dashboard = await signedInPage(browser, t.url, 'analyst');
    const { page } = dashboard;
    await page.goto(`${t.url}/dashboard/payments/${wanted.id}`);
    await page.getByLabel('Payment timeline').waitFor();
    expect(await page.getByRole('button', { name: /Refund|Capture|Cancel payment/ }).count()).toBe(0);
    const refused = await postAsPage(page, `/dashboard/api/payments/${wanted.id}/refund`, { amount: 100 });
    expect(refused).toEqual({ status: 403, code: 'dashboard_permission_denied' });
    const charge = (await t.stripe.paymentIntents.retrieve(wanted.id, { expand: ['latest_charge'] })).latest_charge as Stripe.Charge;
    expect(charge.amount_refunded).toBe(2000);
    await dashboard.close();
  });
});

import type Stripe from 'stripe';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import { PASSWORD, createUsers, requireBuiltDashboard, signedInPage } from './dashboard-support.js';
import { launchBrowser } from './support.js';

/**
 * Money in the dashboard follows Payrail's currency exponents, not the browser's: a JPY, a KWD and an
 * ISK payment (Intl gives ISK no minor digits; Payrail, like Stripe, two) show as the API counts
 * them, a refund typed in yen or dinars lands as the right minor units, and a refund retried after
 * its answer was lost refunds once.
 */

let t: TestPlatform;
let browser: Browser;
const payments: Record<'jpy' | 'isk' | 'usd' | 'kwd', Stripe.PaymentIntent> = {} as never;
let kwd_stripe: Stripe;

/** KWD has no ECB rate to convert from: a merchant settling in KWD charges it as it is. */
const KWD_OWNER = 'kwd-owner@example.com';

async function kwdMerchant(): Promise<Stripe> {
  const { stripe } = await t.newMerchant();
  const { rows } = await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id DESC LIMIT 1');
  const merchant_id = rows[0]?.id ?? '';
  await t.owner.query(`UPDATE merchants.merchants SET default_currency = 'kwd' WHERE id = $1`, [merchant_id]);
  await createDashboardUser(t.platform.database.pool, { merchant_id, email: KWD_OWNER, password: PASSWORD, role: 'owner' });
  return stripe;
}

beforeAll(async () => {
  requireBuiltDashboard();
  [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
  await createUsers(t, ['owner']);
  for (const [currency, amount] of [
    ['jpy', 5000],
    ['isk', 12345],
    ['usd', 4000],
  ] as const) {
    payments[currency] = await t.stripe.paymentIntents.create({ amount, currency, payment_method: 'pm_card_visa', confirm: true });
  }
  kwd_stripe = await kwdMerchant();
  payments.kwd = await kwd_stripe.paymentIntents.create({ amount: 1234, currency: 'kwd', payment_method: 'pm_card_visa', confirm: true });
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function amountRefunded(payment: Stripe.PaymentIntent, stripe: Stripe = t.stripe): Promise<number> {
  const charge = (await stripe.paymentIntents.retrieve(payment.id, { expand: ['latest_charge'] })).latest_charge as Stripe.Charge;
  return charge.amount_refunded;
}

async function openRefund(page: Page, payment: Stripe.PaymentIntent, heading: RegExp) {
  await page.goto(`${t.url}/dashboard/payments/${payment.id}`);
  await page.getByRole('heading', { name: heading }).waitFor();
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  return page.getByRole('dialog', { name: 'Refund payment' });
}

describe('money in the browser', { timeout: 90_000 }, () => {
  it("lists and shows each payment in its currency's own minor digits", async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    await page.getByRole('link', { name: 'Payments' }).click();
    const table = page.getByRole('table', { name: 'Payments' });
    await expect.poll(() => table.getByRole('row').count()).toBe(4);
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('¥5,000');
    expect(text).toMatch(/ISK\s123\.45/);
    expect(text).toContain('$40.00');

    await table.getByRole('link', { name: /ISK\s123\.45/ }).click();
    await page.getByRole('heading', { name: /ISK\s123\.45/ }).waitFor();
    expect(page.url()).toContain(payments.isk.id);
    await dashboard.close();
    expect(dashboard.errors).toEqual([]);

    const kwd = await signedInPage(browser, t.url, 'owner', undefined, KWD_OWNER);
    await kwd.page.getByRole('link', { name: 'Payments' }).click();
    await kwd.page
      .getByRole('table', { name: 'Payments' })
      .getByRole('link', { name: /KWD\s1\.234/ })
      .click();
    await kwd.page.getByRole('heading', { name: /KWD\s1\.234/ }).waitFor();
    await kwd.close();
    expect(kwd.errors).toEqual([]);
  });

  it('refunds an amount typed in yen and in dinars as the right minor units', async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    const yen = await openRefund(page, payments.jpy, /¥5,000/);
    expect(await yen.getByLabel('Refund amount').inputValue()).toBe('5000');
    await yen.getByLabel('Refund amount').fill('1200');
    await yen.getByRole('button', { name: 'Confirm refund' }).click();
    await expect.poll(() => page.getByText('Refunded ¥1,200').isVisible()).toBe(true);
    expect(await amountRefunded(payments.jpy)).toBe(1200);

    await dashboard.close();
    expect(dashboard.errors).toEqual([]);

    const kwd = await signedInPage(browser, t.url, 'owner', undefined, KWD_OWNER);
    const dinars = await openRefund(kwd.page, payments.kwd, /KWD\s1\.234/);
    expect(await dinars.getByLabel('Refund amount').inputValue()).toBe('1.234');
    await dinars.getByLabel('Refund amount').fill('0.234');
    await dinars.getByRole('button', { name: 'Confirm refund' }).click();
    await expect.poll(() => kwd.page.getByText(/Refunded KWD\s0\.234/).isVisible()).toBe(true);
    expect(await amountRefunded(payments.kwd, kwd_stripe)).toBe(234);
    await kwd.close();
    expect(kwd.errors).toEqual([]);
  });

  it('refunds once when the first answer is lost and the user confirms again', async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    const keys: (string | undefined)[] = [];
    await page.route(`**/dashboard/api/payments/${payments.usd.id}/refund`, async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (keys.length > 1) return route.continue();
      // The server does the refund; its answer never reaches the page, as on a dropped connection.
      await route.fetch();
      return route.abort('connectionreset');
    });
    const dialog = await openRefund(page, payments.usd, /\$40\.00/);
    await dialog.getByLabel('Refund amount').fill('15');
    await dialog.getByRole('button', { name: 'Confirm refund' }).click();
    await dialog.getByRole('alert').waitFor();
    await dialog.getByRole('button', { name: 'Confirm refund' }).click();
    await expect.poll(() => page.getByText('Refunded $15.00').isVisible()).toBe(true);

    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[\w-]{20,}$/);
    expect(keys[1]).toBe(keys[0]);
    const refunds = await t.stripe.refunds.list({ payment_intent: payments.usd.id });
    expect(refunds.data.map((refund) => refund.amount)).toEqual([1500]);
    expect(await amountRefunded(payments.usd)).toBe(1500);
    await dashboard.close();
  });

  it('asks for the metadata key before filtering by a value', async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    await page.getByRole('link', { name: 'Payments' }).click();
    const apply = page.getByRole('button', { name: 'Apply filters' });
    await page.getByLabel('Metadata value').fill('A-1');
    await expect.poll(() => apply.isDisabled()).toBe(true);
    await expect.poll(() => page.getByText('Enter the key this value belongs to.').isVisible()).toBe(true);
    await page.getByLabel('Metadata key').fill('order');
    await expect.poll(() => apply.isEnabled()).toBe(true);
    await dashboard.close();
    expect(dashboard.errors).toEqual([]);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardStatic } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform, stripeClient } from '../support/platform.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';
import { axeViolations, createUsers, horizontalOverflow, postAsPage, requireBuiltDashboard, signedInPage } from './dashboard-support.js';
import { launchBrowser } from './support.js';

/**
 * The dashboard app as served by Payrail, in Chromium: sign-in, the Developers area (roll a key and see
 * its secret once, resend a webhook and see the new attempt), a read-only user refused at the API, a
 * phone-width layout and an axe audit.
 */

let t: TestPlatform;
let browser: Browser;
let receiver: Receiver;

beforeAll(async () => {
  requireBuiltDashboard();
  [t, browser, receiver] = await Promise.all([startTestPlatform(), launchBrowser(), startReceiver()]);
  await createUsers(t, ['owner', 'analyst']);
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await t?.stop();
});

describe('serving the app', () => {
  it('answers deep links with the app under a script policy without inline scripts, and hashed assets cached for good', async () => {
    const page = await fetch(`${t.url}/dashboard/payments/pi_123`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/script-src 'self'(;|$)/);
    expect(policy).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${t.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
  });

  it('leaves /dashboard/api to the API: an unknown API path is a Stripe-shaped 404, not the app', async () => {
    const response = await fetch(`${t.url}/dashboard/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('url_invalid');
  });

  it('says the app is not built with a 503, never a 500', async () => {
    const app = Fastify();
    await app.register(dashboardStatic({ root: mkdtempSync(join(tmpdir(), 'no-dashboard-')) }));
    const answer = await app.inject({ method: 'GET', url: '/dashboard/payments' });
    await app.close();
    expect(answer.statusCode).toBe(503);
    const body = answer.json<{ error: { type: string; code: string; message: string } }>();
    expect(body.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
    expect(body.error.message).toContain('npm run build');
  });
});

describe('in the browser', { timeout: 60_000 }, () => {
  it('refuses a wrong password on the sign-in form and lets the right one in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${t.url}/dashboard/developers`);
    await page.getByLabel(/^Email/).fill('owner@example.com');
    await page.getByLabel(/^Password/).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBeTruthy();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await context.close();

    const signed_in = await signedInPage(browser, t.url, 'owner');
    await expect.poll(() => signed_in.page.getByRole('heading', { name: 'Home' }).isVisible()).toBe(true);
    expect(signed_in.errors).toEqual([]);
    await signed_in.close();
  });

  it('rolls a secret key: the new secret is shown once, works, and the list shows it redacted', async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    await page.getByRole('link', { name: 'Developers' }).click();
    await page
      .getByRole('button', { name: /^Roll key/ })
      .first()
      .click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll key' }).click();
    const revealed = page.getByTestId('revealed-secret');
    const secret = ((await revealed.textContent()) ?? '').trim();
    expect(secret).toMatch(/^sk_test_/);
    expect(secret).not.toBe(TEST_SECRET_KEY);
    expect((await stripeClient(t.url, secret).balance.retrieve()).object).toBe('balance');

    await page.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => revealed.count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await expect.poll(() => page.getByRole('table', { name: 'API keys' }).textContent()).toContain(secret.slice(-4));

    await dashboard.close();
    // The secret reached the browser in the roll's answer only; the old one never did.
    expect(dashboard.bodies.filter((b) => b.body.includes(secret)).map((b) => new URL(b.url).pathname)).toEqual([expect.stringMatching(/\/roll$/)]);
    expect(dashboard.bodies.some((b) => b.body.includes(TEST_SECRET_KEY))).toBe(false);
    expect(dashboard.errors).toEqual([]);
  });

  it('resends a webhook from the delivery log and shows the new attempt', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    receiver.secret = endpoint.secret ?? '';
    const customer = await t.stripe.customers.create({ email: 'resend@example.com' });
    await waitFor('the first delivery', () => receiver.delivered().some((event) => (event.data.object as { id: string }).id === customer.id));

    const dashboard = await signedInPage(browser, t.url, 'owner');
    const { page } = dashboard;
    await page.goto(`${t.url}/dashboard/developers`);
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    const log = page.getByRole('table', { name: 'Webhook deliveries' });
    await expect.poll(() => log.getByRole('row').filter({ hasText: 'customer.created' }).count()).toBe(1);
    await log.getByRole('button', { name: /^Resend customer\.created/ }).click();
    await waitFor(
      'the resent event at the receiver',
      () => receiver.received.filter((r) => r.event.data.object && (r.event.data.object as { id: string }).id === customer.id).length === 2,
    );
    await expect.poll(() => log.getByRole('row').filter({ hasText: 'customer.created' }).count(), { timeout: 10_000 }).toBe(2);
    expect(endpoint.secret).toBeDefined();
    expect(dashboard.bodies.some((b) => b.body.includes(endpoint.secret!))).toBe(false);
    await dashboard.close();
  });

  it('shows a read-only user no key actions, and the API refuses its write even with its session and CSRF token', async () => {
    const dashboard = await signedInPage(browser, t.url, 'analyst');
    const { page } = dashboard;
    await page.goto(`${t.url}/dashboard/developers`);
    await page.getByRole('table', { name: 'API keys' }).getByRole('row').nth(1).waitFor();
    expect(await page.getByRole('button', { name: /Roll key|Create restricted key/ }).count()).toBe(0);
    const keys = await t.owner.query<{ id: string }>("SELECT id FROM merchants.api_keys WHERE kind = 'secret' LIMIT 1");
    const answer = await postAsPage(page, `/dashboard/api/developers/api_keys/${keys.rows[0]?.id}/roll`, {});
    expect(answer).toEqual({ status: 403, code: 'dashboard_permission_denied' });
    await dashboard.close();
  });

  it('fits a 375 px phone screen without sideways scrolling, and passes axe on each page', async () => {
    const dashboard = await signedInPage(browser, t.url, 'owner', 375);
    const { page } = dashboard;
    for (const path of ['/dashboard/', '/dashboard/payments', '/dashboard/balances', '/dashboard/customers', '/dashboard/developers']) {
      await page.goto(`${t.url}${path}`);
      await page.getByRole('heading', { level: 2 }).waitFor();
      expect({ path, overflow: await horizontalOverflow(page) }).toEqual({ path, overflow: 0 });
      expect({ path, violations: await axeViolations(page) }).toEqual({ path, violations: [] });
    }
    // The navigation folds into a menu button that opens it.
    await page.getByRole('button', { name: 'Toggle navigation' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Payments' }).isVisible()).toBe(true);
    await dashboard.close();
  });
});

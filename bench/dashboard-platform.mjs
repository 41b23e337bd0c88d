// A Payrail platform for the dashboard's bench and screenshots: the built server (dist/) in this
// process, on a fresh database of the bench's PostgreSQL, with a signed-in-able owner user.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../dist/platform/config.js';
import { createLogger } from '../dist/platform/logger.js';
import { startPlatform } from '../dist/compose.js';
import { createDashboardUser } from '../dist/services/dashboard/index.js';
import { withClient } from './database.mjs';

export const SECRET_KEY = 'sk_test_payrailBenchDashboard000000001';
export const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };

export async function startDashboardPlatform(database, cleanup) {
  const data_dir = mkdtempSync(join(tmpdir(), 'payrail-dashboard-'));
  cleanup.add('remove data dir', () => rmSync(data_dir, { recursive: true, force: true }));
  const config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    database_url: database.url,
    data_dir,
    bootstrap_secret_key: SECRET_KEY,
    metrics_port: 0,
    log_level: 'warn',
  };
  const platform = await startPlatform(config, { logger: createLogger('error') });
  cleanup.add('stop platform', () => platform.stop());
  const merchant_id = await withClient(
    database.url,
    async (client) => (await client.query('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1')).rows[0].id,
  );
  await createDashboardUser(platform.database.pool, { merchant_id, ...OWNER, role: 'owner' });
  return { platform, url: platform.url, merchant_id };
}

/** Creates one payment through the API (form-encoded, as Stripe's SDKs send it). */
export async function createPayment(url, { amount, card = 'pm_card_visa', email, metadata = {} }) {
  const body = new URLSearchParams({ amount: String(amount), currency: 'usd', payment_method: card, confirm: 'true' });
  if (email) body.set('receipt_email', email);
  for (const [key, value] of Object.entries(metadata)) body.set(`metadata[${key}]`, value);
  const response = await fetch(`${url}/v1/payment_intents`, { method: 'POST', headers: { authorization: `Bearer ${SECRET_KEY}` }, body });
  if (!response.ok) throw new Error(`payment failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** A page signed in as the owner through the sign-in form. */
export async function signIn(browser, url, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${url}/dashboard/`);
  await page.getByLabel(/^Email/).fill(OWNER.email);
  await page.getByLabel(/^Password/).fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return { context, page };
}

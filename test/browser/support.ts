import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type Stripe from 'stripe';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import type { TestPlatform } from '../support/platform.js';
import { stripeClient } from '../support/platform.js';

/**
 * A real browser (Debian's chromium, driven by playwright-core) and a merchant's web server on an
 * origin of its own (`localhost`, while Payrail answers on 127.0.0.1), for the browser tests.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface MerchantSite {
  /** `http://localhost:<port>`: another origin than Payrail's `http://127.0.0.1:<port>`. */
  origin: string;
  /** Serves `html` at `path` (with `{{…}}` placeholders filled in by the caller). */
  page(path: string, html: string): void;
  /** Every request the merchant's server received: path and body. */
  requests: { path: string; body: string }[];
  close(): Promise<void>;
}

export async function startMerchantSite(): Promise<MerchantSite> {
  const pages = new Map<string, string>();
  const requests: { path: string; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
      requests.push({ path: request.url ?? '/', body });
      const html = pages.get(path) ?? '<!doctype html><title>Shop</title><h1>Shop</h1>';
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    page: (path, html) => pages.set(path, html),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => resolve(body));
  });
}

/** A fresh context (no shared storage between tests), its page, and the page's console errors. */
export async function openPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

/** A merchant with both keys: the secret one for the merchant's server, the publishable one for its page. */
export async function merchantWithKeys(t: TestPlatform): Promise<{ publishable_key: string; secret_key: string; stripe: Stripe }> {
  const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
  const keys = await createMerchant(store, Math.floor(Date.now() / 1000), { name: 'Browser shop' });
  return { publishable_key: keys.publishable_key, secret_key: keys.secret_key, stripe: stripeClient(t.platform.url, keys.secret_key) };
}

/**
 * A merchant's checkout page as Stripe's guides write it, loading the library from Payrail. It keeps
 * every change event and every message it receives, so tests can show the card number is in none.
 */
export function merchantPage(payrail_url: string, publishable_key: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop checkout</title>
<script src="${payrail_url}/js/v3"></script></head>
<body>
<h1>Checkout</h1>
${body}
<div id="result" role="status"></div>
<script>
  window.changes = [];
  window.messages = [];
  window.addEventListener('message', (event) => window.messages.push(JSON.stringify(event.data)));
  const stripe = Stripe(${JSON.stringify(publishable_key)});
  window.payrail = stripe;
  const show = (result) => {
    window.result = result;
    const object = result.paymentIntent || result.setupIntent || result.paymentMethod;
    document.getElementById('result').textContent = result.error ? 'error: ' + result.error.code : object.object + ': ' + (object.status || object.id);
  };
  ${script}
</script>
</body></html>`;
}

import { existsSync } from 'node:fs';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { openPage } from './support.js';

/**
 * The dashboard in a real browser: its users on the test platform's first merchant, a signed-in page
 * per user, and every response body the page received (for the no-secrets checks).
 */

export const PASSWORD = 'correct horse battery staple';
export type Role = 'owner' | 'admin' | 'developer' | 'support' | 'analyst';

/** `npm test` builds the app before vitest runs; a missing build is a setup mistake, said plainly. */
export function requireBuiltDashboard(): void {
  if (!existsSync(new URL('../../dist/dashboard/index.html', import.meta.url))) {
    throw new Error('dist/dashboard is missing: run `npm run build` first (npm test does).');
  }
}

export async function firstMerchantId(t: TestPlatform): Promise<string> {
  const merchant = await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1');
  return merchant.rows[0]?.id ?? '';
}

export async function createUsers(t: TestPlatform, roles: readonly Role[]): Promise<void> {
  const merchant_id = await firstMerchantId(t);
  for (const role of roles) {
    await createDashboardUser(t.platform.database.pool, { merchant_id, email: `${role}@example.com`, password: PASSWORD, role });
  }
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Each response's URL and body text, in arrival order. */
  bodies: { url: string; body: string }[];
  /** Uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh browser context signed in through the sign-in form, as `role@example.com` unless another email is given. */
export async function signedInPage(browser: Browser, url: string, role: Role, width?: number, email = `${role}@example.com`): Promise<DashboardPage> {
  const opened =
    width === undefined
      ? await openPage(browser)
      : await (async () => {
          const context = await browser.newContext({ viewport: { width, height: 800 } });
          const page = await context.newPage();
          const errors: string[] = [];
          page.on('pageerror', (error) => errors.push(error.message));
          return { context, page, errors };
        })();
  const bodies: { url: string; body: string }[] = [];
  const pending: Promise<void>[] = [];
  opened.page.on('response', (response) => {
    pending.push(
      response.text().then(
        (body) => void bodies.push({ url: response.url(), body }),
        () => undefined,
      ),
    );
  });
  await opened.page.goto(`${url}/dashboard/`);
  await opened.page.getByLabel(/^Email/).fill(email);
  await opened.page.getByLabel(/^Password/).fill(PASSWORD);
  await opened.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await opened.page.getByRole('button', { name: 'Sign out' }).waitFor();
  return {
    ...opened,
    bodies,
    close: async () => {
      // Bodies still unread when the context closes are lost: let the page's requests finish first.
      await opened.page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
      await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 2_000))]);
      await opened.context.close();
    },
  };
}

/** POSTs from inside the signed-in page, with its cookie and the session's CSRF token, as a tampering user would. */
export async function postAsPage(page: Page, path: string, body: object): Promise<{ status: number; code: string | undefined }> {
  return page.evaluate(
    async ({ path, body }) => {
      const session = (await (await fetch('/dashboard/api/session')).json()) as { csrf_token: string };
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as { error?: { code: string } };
      return { status: response.status, code: answer.error?.code };
    },
    { path, body },
  );
}

/** Whether the page is wider than its viewport (a phone user would have to scroll sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

interface Violation {
  id: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's WCAG 2.1 A/AA violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Violation[] }> } }).axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
    }),
  );
  return results.violations.map((violation) => `${violation.id}: ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
}

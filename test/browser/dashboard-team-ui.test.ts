import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { PASSWORD, axeViolations, createUsers, horizontalOverflow, requireBuiltDashboard, signedInPage } from './dashboard-support.js';
import { launchBrowser } from './support.js';

/**
 * The Team, invite and Account pages in Chromium: an invited person joins through the link and signs
 * in with the password they chose, a role change reaches that user's very next write, the last owner
 * keeps the role, and TOTP turned on from the Account page is then asked for at sign-in.
 */

const INVITED_PASSWORD = 'a long enough invited password';

let t: TestPlatform;
let browser: Browser;

beforeAll(async () => {
  requireBuiltDashboard();
  [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
  await createUsers(t, ['owner', 'developer']);
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function signInThroughForm(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel(/^Email/).fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function inviteFromTeamPage(page: Page, email: string, role: string, options: { copy?: boolean } = {}): Promise<string> {
  await page.goto(`${t.url}/dashboard/team`);
  const form = page.getByRole('form', { name: 'Invite a team member' });
  await form.getByLabel(/^Email/).fill(email);
  await form.getByLabel('Role').selectOption(role);
  await form.getByRole('button', { name: 'Invite' }).click();
  const url = ((await page.getByTestId('invite-url').textContent()) ?? '').trim();
  if (options.copy) {
    await page.getByRole('button', { name: 'Copy link' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
  }
  await page.getByRole('button', { name: 'Done' }).click();
  return url;
}

/** The role select of `email`'s row on the Team page. */
function roleOf(page: Page, email: string) {
  return page.getByRole('table', { name: 'Team members' }).getByLabel(`Role of ${email}`);
}

describe('the team pages in the browser', { timeout: 90_000 }, () => {
  it('invites a developer who joins through the link, signs in with the chosen password, and sees Developers but not Team', async () => {
    const owner = await signedInPage(browser, t.url, 'owner');
    await owner.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    const url = await inviteFromTeamPage(owner.page, 'invited@example.com', 'developer', { copy: true });
    expect(url).toMatch(new RegExp(`^${t.url}/dashboard/invites/[A-Za-z0-9_-]{43}$`));
    expect(await owner.page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await expect.poll(() => roleOf(owner.page, 'invited@example.com').inputValue()).toBe('developer');
    await owner.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    // By keyboard alone: type, Tab to the confirmation, Enter submits.
    await page.getByLabel(/^New password/).focus();
    await page.keyboard.type(INVITED_PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the same password');
    await expect.poll(() => page.getByText('The passwords differ.').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Set password and sign in' }).isDisabled()).toBe(true);
    await page.getByLabel(/^Confirm password/).fill('');
    await page.keyboard.type(INVITED_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).click();

    await signInThroughForm(page, 'invited@example.com', INVITED_PASSWORD);
    await page.getByRole('link', { name: 'Developers' }).waitFor();
    expect(await page.getByRole('link', { name: 'Team' }).count()).toBe(0);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(INVITED_PASSWORD);
    await context.close();

    // The link works once.
    const again = await browser.newContext();
    const second = await again.newPage();
    await second.goto(url);
    await second.getByLabel(/^New password/).fill(INVITED_PASSWORD);
    await second.getByLabel(/^Confirm password/).fill(INVITED_PASSWORD);
    await second.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => second.getByRole('alert').textContent()).toContain('already used');
    await again.close();
  });

  it("applies a confirmed role change to the user's next write, and shows why the last owner cannot be demoted", async () => {
    const developer = await signedInPage(browser, t.url, 'developer');
    await developer.page.getByRole('link', { name: 'Developers' }).click();
    await developer.page
      .getByRole('button', { name: /^Roll key/ })
      .first()
      .waitFor();

    const owner = await signedInPage(browser, t.url, 'owner');
    await owner.page.getByRole('link', { name: 'Team' }).click();
    await roleOf(owner.page, 'developer@example.com').selectOption('analyst');
    const dialog = owner.page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Change developer@example.com from developer to analyst?');
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await expect.poll(() => roleOf(owner.page, 'developer@example.com').inputValue()).toBe('analyst');

    // The developer's page still offers the button; the server answers with the new role.
    const keysBefore = await t.owner.query('SELECT id FROM merchants.api_keys');
    await developer.page
      .getByRole('button', { name: /^Roll key/ })
      .first()
      .click();
    await developer.page.getByRole('dialog').getByRole('button', { name: 'Roll key' }).click();
    await expect.poll(() => developer.page.getByRole('dialog').getByRole('alert').textContent()).toContain('Your role (analyst)');
    expect((await t.owner.query('SELECT id FROM merchants.api_keys')).rowCount).toBe(keysBefore.rowCount);
    await developer.close();

    await roleOf(owner.page, 'owner@example.com').selectOption('admin');
    await owner.page.getByRole('dialog').getByRole('button', { name: 'Change role' }).click();
    await expect.poll(() => owner.page.getByRole('dialog').getByRole('alert').textContent()).toBe('The last owner cannot be given another role.');
    await owner.page.getByRole('dialog').getByRole('button', { name: 'Back' }).click();
    expect(await roleOf(owner.page, 'owner@example.com').inputValue()).toBe('owner');
    await owner.close();
  });

  it('fits a 375 px screen and passes axe on the Team, Account and invite pages', async () => {
    const owner = await signedInPage(browser, t.url, 'owner', 375);
    const { page } = owner;
    const invite_url = await inviteFromTeamPage(page, 'axe@example.com', 'support');
    for (const path of ['/dashboard/team', '/dashboard/account']) {
      await page.goto(`${t.url}${path}`);
      await page.getByRole('heading', { level: 2 }).waitFor();
      if (path === '/dashboard/account') {
        await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
        await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
      }
      expect({ path, overflow: await horizontalOverflow(page) }).toEqual({ path, overflow: 0 });
      expect({ path, violations: await axeViolations(page) }).toEqual({ path, violations: [] });
    }
    await owner.close();

    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const invited = await context.newPage();
    await invited.goto(invite_url);
    await invited.getByRole('heading', { name: 'Join Payrail' }).waitFor();
    expect(await horizontalOverflow(invited)).toBe(0);
    expect(await axeViolations(invited)).toEqual([]);
    await context.close();
  });

  // Last: from here on the owner needs a code to sign in.
  it('turns on TOTP from the Account page, and signing in then asks for the code and accepts it', async () => {
    const owner = await signedInPage(browser, t.url, 'owner');
    const { page } = owner;
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    const secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').trim();
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await page.getByLabel(/^Authentication code/).fill(totp.generate());
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('totp-status').textContent()).toBe('On');
    expect(await page.content()).not.toContain(secret);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(secret);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInThroughForm(page, 'owner@example.com', PASSWORD);
    const code = page.getByLabel(/^Authentication code/);
    await code.waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    // The enrolment spent this step's code; the next step's is within the allowed drift and unspent.
    await code.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(owner.errors).toEqual([]);
    await owner.close();
    expect(owner.bodies.filter((b) => b.body.includes(secret)).map((b) => new URL(b.url).pathname)).toEqual(['/dashboard/api/auth/totp/setup']);
  });
});

import { createServer } from 'node:net';
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Dashboard sign-in through a real OpenID Connect provider (the `oidc-provider` package) on a local
 * port: the browser's side of the authorization code flow is driven with fetch, following each
 * redirect by hand and keeping each site's cookies.
 */

const CLIENT = { client_id: 'payrail-dashboard', client_secret: 'a-client-secret-for-the-test-provider' };
let t: TestPlatform;
let provider_server: Server;
let issuer: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** One browser: a cookie jar per origin, redirects followed by hand so each hop's cookies are kept. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    let next = new URL(url);
    let request: RequestInit = {
      method: init.method ?? 'GET',
      ...(init.form ? { body: new URLSearchParams(init.form), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    };
    for (let hop = 0; hop < 20; hop++) {
      const jar = this.jarOf(next.origin);
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await fetch(next, { ...request, redirect: 'manual', headers: { ...(request.headers as object), ...(cookie ? { cookie } : {}) } });
      for (const set of response.headers.getSetCookie()) {
        const [pair = ''] = set.split(';');
        const [name = '', value = ''] = pair.split('=');
        if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(set)) jar.delete(name);
        else jar.set(name, value);
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response;
      next = new URL(location, next);
      request = { method: 'GET' };
    }
    throw new Error('too many redirects');
  }

  jarOf(origin: string): Map<string, string> {
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    return jar;
  }
}

/** Signs in at the provider as `account` (its login prompt, then its consent prompt) and lands back on the dashboard. */
async function signInThroughProvider(browser: Browser, account: string): Promise<Response> {
  let page = await browser.go(`${t.url}/dashboard/api/auth/oidc/start`);
  for (const prompt of ['login', 'consent']) {
    const uid = /\/interaction\/([\w-]+)/.exec(page.url)?.[1];
    expect(uid, `the provider's ${prompt} page`).toBeDefined();
    page = await browser.go(`${issuer}/interaction/${uid}`, { method: 'POST', form: { prompt, login: account, password: 'any' } });
  }
  return page;
}

beforeAll(async () => {
  const provider_port = await freePort();
  const platform_port = await freePort();
  issuer = `http://127.0.0.1:${provider_port}`;
  const redirect_url = `http://127.0.0.1:${platform_port}/dashboard/api/auth/oidc/callback`;
  const provider = new Provider(issuer, {
    clients: [{ ...CLIENT, redirect_uris: [redirect_url], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // An account named unverified@… has an email its provider never verified: it says nothing of email_verified.
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: id, ...(id.startsWith('unverified@') ? {} : { email_verified: true }) }) }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-cookie-key-for-the-test-provider'] },
  });
  provider_server = provider.listen(provider_port);
  Object.assign(process.env, {
    PAYRAIL_DASHBOARD_OIDC_ISSUER: issuer,
    PAYRAIL_DASHBOARD_OIDC_CLIENT_ID: CLIENT.client_id,
    PAYRAIL_DASHBOARD_OIDC_CLIENT_SECRET: CLIENT.client_secret,
    PAYRAIL_DASHBOARD_OIDC_REDIRECT_URL: redirect_url,
  });
  t = await startTestPlatform({ port: platform_port });
  const merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1')).rows[0]?.id ?? '';
  for (const email of ['sso@example.com', 'unverified@example.com'])
    await createDashboardUser(t.platform.database.pool, { merchant_id, email, role: 'developer' });
}, 60_000);

afterAll(async () => {
  for (const name of ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URL']) delete process.env[`PAYRAIL_DASHBOARD_OIDC_${name}`];
  await t?.stop();
  provider_server?.close();
});

describe('OIDC sign-in', () => {
  it('sends the browser to the provider with PKCE, state and nonce', async () => {
    const start = await fetch(`${t.url}/dashboard/api/auth/oidc/start`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const to = new URL(start.headers.get('location') ?? '');
    expect(to.origin).toBe(issuer);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    for (const param of ['code_challenge', 'state', 'nonce']) expect(to.searchParams.get(param)).toMatch(/^[\w-]{20,}$/);
    expect(start.headers.get('set-cookie')).toMatch(/^payrail_dashboard_oidc=[\w-]+; Max-Age=600; Path=\/dashboard\/api\/auth\/oidc; HttpOnly; SameSite=Lax$/);
  });

  it('signs in the invited user the provider vouches for, with a dashboard session', async () => {
    const browser = new Browser();
    const landed = await signInThroughProvider(browser, 'sso@example.com');
    expect(new URL(landed.url).pathname).toBe('/dashboard');
    const session = await fetch(`${t.url}/dashboard/api/session`, {
      headers: { cookie: `payrail_dashboard=${browser.jarOf(t.url).get('payrail_dashboard')}` },
    });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ user: { email: 'sso@example.com', role: 'developer' } });
  });

  it('refuses an email no dashboard user has, and creates no one', async () => {
    const browser = new Browser();
    const refused = await signInThroughProvider(browser, 'stranger@example.com');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'dashboard_oidc_failed', type: 'invalid_request_error' } });
    expect(browser.jarOf(t.url).has('payrail_dashboard')).toBe(false);
    expect((await t.owner.query("SELECT 1 FROM dashboard.users WHERE email = 'stranger@example.com'")).rowCount).toBe(0);
  });

  it('refuses an email the provider does not say it verified, though a dashboard user has it', async () => {
    const browser = new Browser();
    const refused = await signInThroughProvider(browser, 'unverified@example.com');
    expect(refused.status).toBe(401);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'dashboard_oidc_failed', type: 'invalid_request_error' });
    expect(body.error.message).toMatch(/not verified this email/);
    expect(browser.jarOf(t.url).has('payrail_dashboard')).toBe(false);
    const audited = await t.owner.query<{ data: unknown }>("SELECT data FROM audit.security_events WHERE type = 'dashboard.sign_in_failed'");
    expect(JSON.stringify(audited.rows)).toContain('oidc_email_unverified');
  });

  it('answers a callback without a query 400, not a sign-in attempt', async () => {
    const browser = new Browser();
    await browser.go(`${t.url}/dashboard/api/auth/oidc/start`).catch(() => undefined);
    const bare = await browser.go(`${t.url}/dashboard/api/auth/oidc/callback`);
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'parameter_missing', param: 'code' } });
  });

  it('refuses a callback whose state is not the one this browser started with', async () => {
    const browser = new Browser();
    await browser.go(`${t.url}/dashboard/api/auth/oidc/start`).catch(() => undefined);
    const forged = await browser.go(`${t.url}/dashboard/api/auth/oidc/callback?code=stolen&state=forged`);
    expect(forged.status).toBe(401);
    expect(browser.jarOf(t.url).has('payrail_dashboard')).toBe(false);
  });
});

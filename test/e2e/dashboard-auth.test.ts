import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * Dashboard sign-in against a started platform over real HTTP and PostgreSQL: the session cookie,
 * wrong passwords, the sign-in limit, CSRF, roles, invites, the last owner, TOTP, and what reaches
 * the logs and the audit log. Every request comes from 127.0.0.1, so the per-address limit is
 * shared: the limit's own test moves the clock past its window when done.
 */

const PASSWORD = 'correct horse battery staple';
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
let t: TestPlatform;
let clock: ManualClock;
let merchant_id: string;
const secrets_seen: string[] = [PASSWORD];

interface Session {
  cookie: string;
  csrf_token: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; type: string; message: string }; data?: Record<string, unknown>[] };
}

async function call(method: 'GET' | 'POST', path: string, options: { session?: Session; body?: object; csrf?: string | null } = {}): Promise<Answer> {
  const { session, body } = options;
  const csrf = options.csrf === undefined ? session?.csrf_token : options.csrf;
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      ...(session ? { cookie: session.cookie } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...(method === 'POST' && csrf ? { 'x-csrf-token': csrf } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

function sessionFrom(answer: Answer): Session {
  const cookie = (answer.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  secrets_seen.push(cookie.split('=')[1] ?? '', String(answer.body.csrf_token));
  return { cookie, csrf_token: String(answer.body.csrf_token) };
}

async function signIn(email: string, password = PASSWORD, totp_code?: string): Promise<Session> {
  const answer = await call('POST', '/dashboard/api/auth/login', { body: { email, password, ...(totp_code ? { totp_code } : {}) } });
  expect(answer.status).toBe(200);
  return sessionFrom(answer);
}

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  t = await startTestPlatform({}, { clock });
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1')).rows[0]?.id ?? '';
  for (const role of ['owner', 'analyst', 'support'] as const) {
    await createDashboardUser(t.platform.database.pool, { merchant_id, email: `${role}@example.com`, password: PASSWORD, role });
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('password sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie on /dashboard and answers the session', async () => {
    const answer = await call('POST', '/dashboard/api/auth/login', { body: { email: 'Owner@Example.com', password: PASSWORD } });
    expect(answer.status).toBe(200);
    const cookie = answer.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^payrail_dashboard=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/dashboard');
    expect(cookie).not.toContain('Secure');
    expect(answer.body).toMatchObject({ user: { email: 'owner@example.com', role: 'owner', merchant_id, totp_enabled: false } });
    expect(answer.body.permissions).toContain('users.manage');

    const session = sessionFrom(answer);
    const current = await call('GET', '/dashboard/api/session', { session });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ user: { email: 'owner@example.com' }, csrf_token: session.csrf_token });
    const stored = await t.owner.query<{ token_hash: string }>('SELECT token_hash FROM dashboard.sessions');
    expect(stored.rows.map((row) => row.token_hash)).not.toContain(session.cookie.split('=')[1]);
  });

  it('answers 401 for a wrong password and for an unknown email alike, and without a session', async () => {
    const wrong = await call('POST', '/dashboard/api/auth/login', { body: { email: 'analyst@example.com', password: 'not the password' } });
    const unknown = await call('POST', '/dashboard/api/auth/login', { body: { email: 'nobody@example.com', password: PASSWORD } });
    for (const answer of [wrong, unknown]) {
      expect(answer.status).toBe(401);
      expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code: 'dashboard_credentials_invalid' });
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
    expect((await call('GET', '/dashboard/api/session')).body.error?.code).toBe('dashboard_session_required');
  });

  it('refuses sign-in with 429 after 5 failures in 15 minutes, even with the right password, until the window passes', async () => {
    clock.advance(FIFTEEN_MINUTES_MS + 1);
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await call('POST', '/dashboard/api/auth/login', { body: { email: 'support@example.com', password: `guess ${attempt}` } })).status).toBe(401);
    }
    const blocked = await call('POST', '/dashboard/api/auth/login', { body: { email: 'support@example.com', password: PASSWORD } });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error?.code).toBe('rate_limit');
    clock.advance(FIFTEEN_MINUTES_MS + 1);
    await signIn('support@example.com');
  });

  it('signs out: the cookie is cleared and the session no longer works', async () => {
    const session = await signIn('support@example.com');
    const out = await call('POST', '/dashboard/api/auth/logout', { session });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^payrail_dashboard=;/);
    expect((await call('GET', '/dashboard/api/session', { session })).status).toBe(401);
  });
});

describe('roles and CSRF', () => {
  it('refuses a write without the session’s CSRF token, and nothing changes', async () => {
    const owner = await signIn('owner@example.com');
    const before = await call('GET', '/dashboard/api/users', { session: owner });
    for (const csrf of [null, 'forged']) {
      const refused = await call('POST', '/dashboard/api/users', { session: owner, csrf, body: { email: 'csrf@example.com', role: 'admin' } });
      expect(refused.status).toBe(403);
      expect(refused.body.error?.code).toBe('dashboard_csrf_invalid');
    }
    expect((await call('GET', '/dashboard/api/users', { session: owner })).body.data).toEqual(before.body.data);
  });

  it('gives a read-only analyst 403 on managing users, with its CSRF token right', async () => {
    const analyst = await signIn('analyst@example.com');
    expect((await call('GET', '/dashboard/api/users', { session: analyst })).body.error?.code).toBe('dashboard_permission_denied');
    const invite = await call('POST', '/dashboard/api/users', { session: analyst, body: { email: 'sneaky@example.com', role: 'owner' } });
    expect(invite.status).toBe(403);
    expect(invite.body.error?.code).toBe('dashboard_permission_denied');
    const stored = await t.owner.query("SELECT 1 FROM dashboard.users WHERE email = 'sneaky@example.com'");
    expect(stored.rowCount).toBe(0);
  });

  it('invites a developer who sets a password once, then signs in with it', async () => {
    const owner = await signIn('owner@example.com');
    const invited = await call('POST', '/dashboard/api/users', { session: owner, body: { email: 'dev@example.com', role: 'developer' } });
    expect(invited.status).toBe(200);
    const token = /\/dashboard\/invites\/([A-Za-z0-9_-]{43})$/.exec(String(invited.body.invite_url))?.[1] ?? '';
    secrets_seen.push(token);
    expect((await call('POST', '/dashboard/api/auth/login', { body: { email: 'dev@example.com', password: PASSWORD } })).status).toBe(401);

    const accepted = await call('POST', `/dashboard/api/invites/${token}/accept`, { body: { password: 'a developer password' } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ user: { email: 'dev@example.com', role: 'developer' } });
    expect(accepted.body.permissions).toEqual(['payments.read', 'balances.read', 'customers.read', 'developers.read', 'developers.write']);
    const again = await call('POST', `/dashboard/api/invites/${token}/accept`, { body: { password: 'another password!' } });
    expect(again.body.error?.code).toBe('dashboard_invite_invalid');
    await signIn('dev@example.com', 'a developer password');
  });

  it('changes roles, but never demotes the last owner', async () => {
    const owner = await signIn('owner@example.com');
    const users = (await call('GET', '/dashboard/api/users', { session: owner })).body.data ?? [];
    const id_of = (email: string) => String(users.find((user) => user.email === email)?.id);
    const demote_self = await call('POST', `/dashboard/api/users/${id_of('owner@example.com')}`, { session: owner, body: { role: 'admin' } });
    expect(demote_self.status).toBe(400);
    expect(demote_self.body.error?.code).toBe('dashboard_last_owner');

    const promoted = await call('POST', `/dashboard/api/users/${id_of('support@example.com')}`, { session: owner, body: { role: 'admin' } });
    expect(promoted.body).toMatchObject({ user: { email: 'support@example.com', role: 'admin' } });
    const admin = await signIn('support@example.com');
    const made_owner = await call('POST', `/dashboard/api/users/${id_of('analyst@example.com')}`, { session: admin, body: { role: 'owner' } });
    expect(made_owner.body.error?.code).toBe('dashboard_permission_denied');
  });
});

describe('two-factor sign-in', () => {
  it('answers a signed-out enable 401 before looking at its body', async () => {
    const refused = await call('POST', '/dashboard/api/auth/totp/enable', { body: { code: 'not six digits' } });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('dashboard_session_required');
  });

  it('requires the authenticator code once TOTP is on, accepts the right one once, and refuses it replayed', async () => {
    const analyst = await signIn('analyst@example.com');
    const setup = await call('POST', '/dashboard/api/auth/totp/setup', { session: analyst });
    expect(setup.status).toBe(200);
    const secret = String(setup.body.secret);
    secrets_seen.push(secret);
    expect(String(setup.body.otpauth_url)).toMatch(/^otpauth:\/\/totp\/Payrail:analyst%40example\.com\?/);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const code = () => totp.generate({ timestamp: clock.now_ms() });

    expect(
      (await call('POST', '/dashboard/api/auth/totp/enable', { session: analyst, body: { code: code() === '000000' ? '111111' : '000000' } })).status,
    ).toBe(401);
    expect((await call('POST', '/dashboard/api/auth/totp/enable', { session: analyst, body: { code: code() } })).body).toEqual({ totp_enabled: true });
    const sealed = await t.owner.query<{ totp_sealed: Buffer }>("SELECT totp_sealed FROM dashboard.users WHERE email = 'analyst@example.com'");
    expect(sealed.rows[0]?.totp_sealed.toString('latin1')).not.toContain(secret);

    const without = await call('POST', '/dashboard/api/auth/login', { body: { email: 'analyst@example.com', password: PASSWORD } });
    expect(without.status).toBe(401);
    expect(without.body.error?.code).toBe('dashboard_totp_required');
    clock.advance(60_000);
    const signed_in = await signIn('analyst@example.com', PASSWORD, code());
    expect((await call('GET', '/dashboard/api/session', { session: signed_in })).body).toMatchObject({ user: { totp_enabled: true } });
    // A code accepted once is spent: replaying it within its 30 seconds fails.
    const replayed = await call('POST', '/dashboard/api/auth/login', { body: { email: 'analyst@example.com', password: PASSWORD, totp_code: code() } });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error?.code).toBe('dashboard_totp_invalid');
  });
});

describe('records', () => {
  it('audits sign-ins, failures, invites and role changes, and logs no password, token or TOTP secret', async () => {
    const events = await t.owner.query<{ type: string; actor_type: string; data: string }>(
      "SELECT type, actor_type, data FROM audit.security_events WHERE type LIKE 'dashboard.%' ORDER BY seq",
    );
    const types = new Set(events.rows.map((row) => row.type));
    for (const type of ['signed_in', 'sign_in_failed', 'signed_out', 'user.invited', 'invite.accepted', 'user.role_changed', 'totp.enabled']) {
      expect(types).toContain(`dashboard.${type}`);
    }
    const recorded = JSON.stringify(events.rows) + t.logs.join('\n');
    for (const secret of secrets_seen.filter((value) => value.length >= 6)) expect(recorded).not.toContain(secret);
  });
});

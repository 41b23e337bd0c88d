import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { DashboardPermission, DashboardRole } from '../../src/services/dashboard/index.js';
import { ROLE_PERMISSIONS, createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { DashboardSession } from '../support/dashboard-session.js';
import { signInToDashboard } from '../support/dashboard-session.js';

/**
 * Every route the started platform serves under /dashboard/api, read from its router: each is in
 * the table below with the permission it must demand, so a route added without a guard (or with a
 * weaker one) fails here. Without a session each guarded route answers 401; a write without the
 * session's CSRF token 403; a role without the route's permission 403 — all before any work is done.
 */

const PASSWORD = 'correct horse battery staple';
const API = '/dashboard/api';

/** `public`: reachable signed out by design (sign-in itself); `session`: any signed-in user, for their own account. */
type Guard = DashboardPermission | 'public' | 'session';

const EXPECTED: Record<string, Guard> = {
  'POST /dashboard/api/auth/login': 'public',
  'POST /dashboard/api/auth/logout': 'public',
  'GET /dashboard/api/auth/oidc/start': 'public',
  'GET /dashboard/api/auth/oidc/callback': 'public',
  'POST /dashboard/api/invites/:token/accept': 'public',
  'GET /dashboard/api/session': 'session',
  'POST /dashboard/api/auth/totp/setup': 'session',
  'POST /dashboard/api/auth/totp/enable': 'session',
  'GET /dashboard/api/users': 'users.manage',
  'POST /dashboard/api/users': 'users.manage',
  'POST /dashboard/api/users/:id': 'users.manage',
  'GET /dashboard/api/payments': 'payments.read',
  'GET /dashboard/api/payments/:id': 'payments.read',
  'POST /dashboard/api/payments/:id/refund': 'payments.write',
  'POST /dashboard/api/payments/:id/capture': 'payments.write',
  'POST /dashboard/api/payments/:id/cancel': 'payments.write',
  'GET /dashboard/api/balances': 'balances.read',
  'GET /dashboard/api/balance_transactions': 'balances.read',
  'GET /dashboard/api/payouts': 'balances.read',
  'GET /dashboard/api/customers': 'customers.read',
  'GET /dashboard/api/customers/:id': 'customers.read',
  'GET /dashboard/api/charts/volume': 'payments.read',
  'GET /dashboard/api/charts/declines': 'payments.read',
  'GET /dashboard/api/developers/api_keys': 'developers.read',
  'POST /dashboard/api/developers/api_keys': 'developers.write',
  'POST /dashboard/api/developers/api_keys/:id/roll': 'developers.write',
  'GET /dashboard/api/developers/webhook_endpoints': 'developers.read',
  'GET /dashboard/api/developers/webhook_endpoints/:id/deliveries': 'developers.read',
  'POST /dashboard/api/developers/deliveries/:id/resend': 'developers.write',
  'GET /dashboard/api/developers/requests': 'developers.read',
  'GET /dashboard/api/developers/events': 'developers.read',
  'GET /dashboard/api/audit_log': 'audit.read',
};

const ROLES = ['owner', 'developer', 'support', 'analyst'] as const;

let t: TestPlatform;
const sessions = {} as Record<(typeof ROLES)[number], { cookie: string; csrf_token: string }>;

/**
 * `METHOD /path` of every route the router holds under /dashboard/api. Fastify lists its routes only
 * as printRoutes' tree, whose lines are path segments indented 4 characters a level under their parent.
 */
function dashboardApiRoutes(app: FastifyInstance): string[] {
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (prefixes[depth - 1] ?? '') + (match[2] ?? '');
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    const methods = (match[3] ?? '').split(', ').filter((method) => method !== '' && method !== 'HEAD');
    if (path.startsWith(`${API}/`)) routes.push(...methods.map((method) => `${method} ${path}`));
  }
  return routes.sort();
}

/** The route's path with placeholder ids: the guard answers before any id is looked at. */
function concrete(route: string): { method: string; path: string } {
  const [method = '', pattern = ''] = route.split(' ');
  return { method, path: pattern.replace(':token', 'x'.repeat(43)).replace(':id', 'id_that_is_checked_after_the_guard') };
}

async function call(route: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string | undefined }> {
  const { method, path } = concrete(route);
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: { ...headers, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    // A body every write route's schema could take, so a route that parsed before its guard would still be caught by the status.
    ...(method === 'GET' ? {} : { body: JSON.stringify({ code: '123456' }) }),
  });
  const body = (await response.json()) as { error?: { code?: string; type?: string; message?: string } };
  if (response.status >= 400) expect(body.error).toMatchObject({ type: expect.any(String) as unknown, message: expect.any(String) as unknown });
  return { status: response.status, code: body.error?.code };
}

function signIn(email: string): Promise<DashboardSession> {
  return signInToDashboard(t.url, email, PASSWORD);
}

function guarded(): [string, Exclude<Guard, 'public'>][] {
  return Object.entries(EXPECTED).flatMap(([route, guard]) => (guard === 'public' ? [] : [[route, guard] as [string, Exclude<Guard, 'public'>]]));
}

beforeAll(async () => {
  t = await startTestPlatform();
  const merchant = await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1');
  for (const role of ROLES) {
    await createDashboardUser(t.platform.database.pool, { merchant_id: merchant.rows[0]?.id ?? '', email: `${role}@example.com`, password: PASSWORD, role });
    sessions[role] = await signIn(`${role}@example.com`);
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('the dashboard API route table', () => {
  it('holds exactly the routes this table knows, each with the permission it must demand', () => {
    const served = dashboardApiRoutes(t.platform.app);
    expect(served.length).toBeGreaterThan(20);
    expect(served).toEqual(Object.keys(EXPECTED).sort());
  });

  it('answers 401 without a session, and with a session token that was never issued, on every guarded route', async () => {
    for (const [route] of guarded()) {
      expect({ route, ...(await call(route)) }).toEqual({ route, status: 401, code: 'dashboard_session_required' });
      const forged = await call(route, { cookie: 'payrail_dashboard=forged-token-of-no-session' });
      expect({ route, ...forged }).toEqual({ route, status: 401, code: 'dashboard_session_required' });
    }
  });

  it('answers 403 to every guarded write without the session’s CSRF token, or with another session’s', async () => {
    const writes = guarded().filter(([route]) => !route.startsWith('GET '));
    expect(writes.length).toBeGreaterThan(8);
    for (const [route] of writes) {
      const missing = await call(route, { cookie: sessions.owner.cookie });
      expect({ route, ...missing }).toEqual({ route, status: 403, code: 'dashboard_csrf_invalid' });
      const crossed = await call(route, { cookie: sessions.owner.cookie, 'x-csrf-token': sessions.analyst.csrf_token });
      expect({ route, ...crossed }).toEqual({ route, status: 403, code: 'dashboard_csrf_invalid' });
    }
  });

  it('answers 403 to a role without the route’s permission', async () => {
    let refused = 0;
    for (const [route, guard] of guarded()) {
      if (guard === 'session') continue;
      const lacking = ROLES.filter((role) => !ROLE_PERMISSIONS[role as DashboardRole].includes(guard));
      for (const role of lacking) {
        const answer = await call(route, { cookie: sessions[role].cookie, 'x-csrf-token': sessions[role].csrf_token });
        expect({ route, role, ...answer }).toEqual({ route, role, status: 403, code: 'dashboard_permission_denied' });
        refused += 1;
      }
    }
    // payments.read and customers.read belong to every role; every other permission is refused to someone.
    expect(refused).toBeGreaterThan(25);
  });
});

import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { sameSecret } from '../../../kernel/secrets.js';
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import type { DashboardPermission, DashboardUser } from './permissions.js';
import { roleAllows } from './permissions.js';
import type { Session } from './sessions.js';
import { SESSION_ABSOLUTE_MS, resumeSession } from './sessions.js';

/**
 * The gate in front of every /dashboard/api route but sign-in: the session cookie names a live
 * session, its role holds the route's permission, and a request that changes something echoes the
 * session's CSRF token in `x-csrf-token` (a cross-site form cannot read it, so cannot send it).
 */

export const SESSION_COOKIE = 'payrail_dashboard';
const COOKIE_PATH = '/dashboard';

/** What the guard needs at request time; `dashboardAuthRoutes` decorates the app with it. */
export interface DashboardAuthContext {
  pool: Pool;
  clock: Clock;
  /** Cookies only over HTTPS (Secure) when the server speaks TLS. */
  secure_cookie: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    dashboard_auth: DashboardAuthContext;
  }
  interface FastifyRequest {
    dashboard_user: DashboardUser;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The signed-in session of `request`, or undefined (no cookie, unknown or expired token). */
export async function sessionOf(request: FastifyRequest): Promise<(Session & { token: string }) | undefined> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token) return undefined;
  const { pool, clock } = request.server.dashboard_auth;
  const session = await resumeSession(pool, token, clock.now_ms());
  return session && { ...session, token };
}

export function requirePermission(permission: DashboardPermission): preHandlerAsyncHookHandler {
  return async function dashboardGuard(request: FastifyRequest) {
    const session = await sessionOf(request);
    if (!session) throw new PayrailError('dashboard_session_required');
    if (!SAFE_METHODS.has(request.method)) checkCsrf(request, session.csrf_token);
    if (!roleAllows(session.user.role, permission)) {
      throw new PayrailError('dashboard_permission_denied', { message: `Your role (${session.user.role}) does not have the ${permission} permission.` });
    }
    const { id, merchant_id, email, role } = session.user;
    request.dashboard_user = { id, merchant_id, email, role };
  };
}

export function checkCsrf(request: FastifyRequest, expected: string): void {
  const given = request.headers['x-csrf-token'];
  if (typeof given !== 'string' || !sameSecret(expected, given)) throw new PayrailError('dashboard_csrf_invalid');
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: COOKIE_PATH,
    secure: request.server.dashboard_auth.secure_cookie,
    maxAge: SESSION_ABSOLUTE_MS / 1000,
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: COOKIE_PATH, secure: request.server.dashboard_auth.secure_cookie });
}

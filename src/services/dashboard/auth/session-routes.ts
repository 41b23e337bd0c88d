import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import { parseParams } from '../../../platform/http/params.js';
import type { DashboardAuthDeps } from './deps.js';
import { actionContext } from './deps.js';
import { recordDashboardAction, recordFailedSignIn } from './audit.js';
import { checkCsrf, clearSessionCookie, sessionOf, setSessionCookie } from './guard.js';
import { MAX_PASSWORD_LENGTH, UNKNOWN_USER_HASH, verifyPassword } from './passwords.js';
import { ROLE_PERMISSIONS } from './permissions.js';
import { endSession, startSession } from './sessions.js';
import { forgetOldSignInFailures, reserveSignInAttempt, withdrawSignInAttempt } from './sign-in-limit.js';
import { spendTotpCode } from './totp.js';
import type { SessionUser } from './sessions.js';
import type { StoredUser } from './users.js';
import { publicUser, userByEmail } from './users.js';

/** Sign-in with a password (and a TOTP code once enabled), sign-out, and the current session. */

const LOGIN = z.strictObject({
  email: z.string().min(3).max(320),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  totp_code: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
});

export function sessionBody(user: SessionUser, csrf_token: string): Record<string, unknown> {
  return { user: publicUser(user), permissions: ROLE_PERMISSIONS[user.role], csrf_token };
}

/** Signs `user` in: a new session, its cookie, the audit entry; answers the session body. */
export async function signIn(deps: DashboardAuthDeps, request: FastifyRequest, reply: FastifyReply, user: StoredUser, method: string) {
  const { token, csrf_token } = await startSession(deps.pool, user, deps.clock.now_ms(), deps.random);
  setSessionCookie(request, reply, token);
  await recordDashboardAction(deps.pool, user, 'signed_in', user.id, { method }, actionContext(deps, request));
  return sessionBody(user, csrf_token);
}

export function registerSessionRoutes(app: FastifyInstance, deps: DashboardAuthDeps): void {
  app.post('/dashboard/api/auth/login', async (request, reply) => {
    const { email, password, totp_code } = parseParams(LOGIN, request.body);
    const context = actionContext(deps, request);
    // Counted as a failure up front, taken back once the credentials check out (see sign-in-limit.ts).
    if (!(await reserveSignInAttempt(deps.pool, email, request.ip, context.at_ms))) {
      throw new PayrailError('rate_limit', { message: 'Too many failed sign-ins. Wait 15 minutes, then try again.' });
    }
    const refuse = async (reason: string, code: 'dashboard_credentials_invalid' | 'dashboard_totp_invalid') => {
      await recordFailedSignIn(deps.pool, email, reason, context);
      await forgetOldSignInFailures(deps.pool, context.at_ms);
      return new PayrailError(code);
    };
    const user = await userByEmail(deps.pool, email);
    // An unknown email costs the same hash as a known one, so timing does not tell them apart.
    const password_ok = await verifyPassword(password, user?.password_hash ?? UNKNOWN_USER_HASH);
    if (!user || !user.password_hash || !password_ok) throw await refuse('password', 'dashboard_credentials_invalid');
    if (user.totp_enabled && totp_code !== undefined && !(await spendTotpCode(deps.pool, deps.totp_sealer, user, totp_code, context.at_ms)))
      throw await refuse('totp', 'dashboard_totp_invalid');
    await withdrawSignInAttempt(deps.pool, email, request.ip, context.at_ms);
    if (user.totp_enabled && totp_code === undefined) throw new PayrailError('dashboard_totp_required', { param: 'totp_code' });
    return signIn(deps, request, reply, user, 'password');
  });

  app.post('/dashboard/api/auth/logout', async (request, reply) => {
    const session = await sessionOf(request);
    if (session) {
      checkCsrf(request, session.csrf_token);
      await endSession(deps.pool, session.token);
      await recordDashboardAction(deps.pool, session.user, 'signed_out', session.user.id, {}, actionContext(deps, request));
    }
    clearSessionCookie(request, reply);
    return { signed_out: true };
  });

  app.get('/dashboard/api/session', async (request) => {
    const session = await sessionOf(request);
    if (!session) throw new PayrailError('dashboard_session_required');
    return sessionBody(session.user, session.csrf_token);
  });
}

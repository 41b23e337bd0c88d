import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import { parseParams } from '../../../platform/http/params.js';
import type { DashboardAuthDeps } from './deps.js';
import { actionContext } from './deps.js';
import { recordDashboardAction } from './audit.js';
import { checkCsrf, sessionOf } from './guard.js';
import { enableTotp, setUpTotp, spendTotpCode } from './totp.js';
import { userById } from './users.js';

/** A signed-in user turns on their own second factor: a secret to scan, then a code from it to prove the scan worked. */

const ENABLE = z.strictObject({ code: z.string().regex(/^\d{6}$/) });

export function registerTotpRoutes(app: FastifyInstance, deps: DashboardAuthDeps): void {
  // Any role: each user secures their own account, so no permission beyond a session. The session
  // carries no secrets, so the user's stored row (with its sealed TOTP secret) is read here, for these routes only.
  const signedIn = async (request: Parameters<typeof sessionOf>[0]) => {
    const session = await sessionOf(request);
    if (!session) throw new PayrailError('dashboard_session_required');
    checkCsrf(request, session.csrf_token);
    const user = await userById(deps.pool, session.user.id);
    if (!user) throw new PayrailError('dashboard_session_required');
    return user;
  };

  app.post('/dashboard/api/auth/totp/setup', async (request) => {
    const user = await signedIn(request);
    // Re-running setup once enabled would let a stolen session swap the factor: it must be turned off some other way.
    if (user.totp_enabled) throw new PayrailError('parameter_invalid', { message: 'Two-factor sign-in is already on for this user.' });
    return setUpTotp(deps.pool, deps.totp_sealer, user);
  });

  app.post('/dashboard/api/auth/totp/enable', async (request) => {
    // The session first: a signed-out caller learns nothing about the body's shape.
    const user = await signedIn(request);
    const { code } = parseParams(ENABLE, request.body);
    if (!(await spendTotpCode(deps.pool, deps.totp_sealer, user, code, deps.clock.now_ms())))
      throw new PayrailError('dashboard_totp_invalid', { param: 'code' });
    await enableTotp(deps.pool, user.id);
    await recordDashboardAction(deps.pool, user, 'totp.enabled', user.id, {}, actionContext(deps, request));
    return { totp_enabled: true };
  });
}

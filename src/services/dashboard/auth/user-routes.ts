import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import { parseParams } from '../../../platform/http/params.js';
import { pathId } from '../../../platform/http/routes.js';
import type { DashboardAuthDeps } from './deps.js';
import { actionContext } from './deps.js';
import { recordDashboardAction } from './audit.js';
import { requirePermission } from './guard.js';
import { acceptInvite, changeRole, invite } from './invites.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword } from './passwords.js';
import { DASHBOARD_ROLES } from './permissions.js';
import { signIn } from './session-routes.js';
import { publicUser, usersOfMerchant } from './users.js';

/** The team: list, invite, change roles (owners and admins), and accepting an invite. */

const INVITE = z.strictObject({ email: z.email().max(320), role: z.enum(DASHBOARD_ROLES) });
const ROLE_CHANGE = z.strictObject({ role: z.enum(DASHBOARD_ROLES) });
const ACCEPT = z.strictObject({ password: z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH) });
const INVITE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function registerUserRoutes(app: FastifyInstance, deps: DashboardAuthDeps): void {
  const manage = { preHandler: requirePermission('users.manage') };

  app.get('/dashboard/api/users', manage, async (request) => ({
    data: (await usersOfMerchant(deps.pool, request.dashboard_user.merchant_id)).map(publicUser),
    has_more: false,
    next_cursor: null,
  }));

  app.post('/dashboard/api/users', manage, async (request) => {
    const person = parseParams(INVITE, request.body);
    const context = actionContext(deps, request);
    const { user, token } = await invite(deps.pool, request.dashboard_user, person, { ids: deps.ids, now_ms: context.at_ms, random: deps.random });
    await recordDashboardAction(deps.pool, request.dashboard_user, 'user.invited', user.id, { email: user.email, role: user.role }, context);
    return { user: { ...user, totp_enabled: false }, invite_url: `${deps.public_url ?? ''}/dashboard/invites/${token}` };
  });

  app.post('/dashboard/api/users/:id', manage, async (request) => {
    const { role } = parseParams(ROLE_CHANGE, request.body);
    const user = await changeRole(deps.pool, request.dashboard_user, pathId(request), role);
    await recordDashboardAction(deps.pool, request.dashboard_user, 'user.role_changed', user.id, { email: user.email, role }, actionContext(deps, request));
    return { user: publicUser(user) };
  });

  app.post('/dashboard/api/invites/:token/accept', async (request, reply) => {
    const token = (request.params as { token: string }).token;
    const { password } = parseParams(ACCEPT, request.body);
    if (!INVITE_TOKEN.test(token)) throw new PayrailError('dashboard_invite_invalid');
    const user = await acceptInvite(deps.pool, token, await hashPassword(password), deps.clock.now_ms());
    await recordDashboardAction(deps.pool, user, 'invite.accepted', user.id, {}, actionContext(deps, request));
    return signIn(deps, request, reply, user, 'invite');
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import type { DashboardAuthDeps } from './deps.js';
import { actionContext } from './deps.js';
import { recordFailedSignIn } from './audit.js';
import type { OidcFlow } from './oidc.js';
import { OidcSignIn } from './oidc.js';
import { signIn } from './session-routes.js';
import { userByEmail } from './users.js';

/**
 * GET …/oidc/start redirects to the provider; the provider redirects back to …/oidc/callback. The
 * flow's state, nonce and PKCE verifier wait in a short-lived HttpOnly cookie. It is SameSite=Lax,
 * not Strict: the callback is a top-level navigation from the provider's site, which a Strict
 * cookie would not accompany.
 */

const FLOW_COOKIE = 'payrail_dashboard_oidc';
const FLOW_PATH = '/dashboard/api/auth/oidc';
const FLOW_TTL_S = 10 * 60;

export function registerOidcRoutes(app: FastifyInstance, deps: DashboardAuthDeps): void {
  const oidc = deps.oidc ? new OidcSignIn(deps.oidc) : undefined;
  const configured = () => {
    if (!oidc) throw new PayrailError('dashboard_oidc_unconfigured');
    return oidc;
  };

  app.get('/dashboard/api/auth/oidc/start', async (request, reply) => {
    const { url, flow } = await configured().start();
    reply.setCookie(FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), {
      httpOnly: true,
      sameSite: 'lax',
      path: FLOW_PATH,
      secure: request.server.dashboard_auth.secure_cookie,
      maxAge: FLOW_TTL_S,
    });
    return reply.redirect(url);
  });

  app.get('/dashboard/api/auth/oidc/callback', async (request, reply) => {
    const provider = configured();
    const flow = flowOf(request);
    reply.clearCookie(FLOW_COOKIE, { path: FLOW_PATH });
    const query_at = request.url.indexOf('?');
    // The provider always answers with a query (code and state, or an error): one without is no callback of a flow.
    if (query_at === -1) throw new PayrailError('parameter_missing', { param: 'code', message: 'The sign-on callback carries no code and state.' });
    const vouched = await provider.finish(request.url.slice(query_at), flow).catch((error: unknown) => {
      request.log.warn({ request_id: request.id, reason: error instanceof Error ? error.name : 'unknown' }, 'dashboard OIDC callback refused');
      return undefined;
    });
    if (vouched && !vouched.verified) await refuse(deps, request, vouched.email, 'oidc_email_unverified');
    const user = vouched === undefined ? undefined : await userByEmail(deps.pool, vouched.email);
    if (!user) await refuse(deps, request, vouched?.email, vouched === undefined ? 'oidc' : 'oidc_unknown_user');
    else await signIn(deps, request, reply, user, 'oidc');
    return reply.redirect('/dashboard');
  });
}

const UNVERIFIED_MESSAGE = 'The sign-on provider has not verified this email address; verify it there, then start again.';

async function refuse(deps: DashboardAuthDeps, request: FastifyRequest, email: string | undefined, reason: string): Promise<never> {
  await recordFailedSignIn(deps.pool, email ?? '', reason, actionContext(deps, request));
  throw new PayrailError('dashboard_oidc_failed', reason === 'oidc_email_unverified' ? { message: UNVERIFIED_MESSAGE } : {});
}

function flowOf(request: FastifyRequest): OidcFlow {
  const cookie = request.cookies[FLOW_COOKIE];
  try {
    const flow = JSON.parse(Buffer.from(cookie ?? '', 'base64url').toString('utf8')) as Partial<OidcFlow>;
    if (typeof flow.state === 'string' && typeof flow.nonce === 'string' && typeof flow.code_verifier === 'string') return flow as OidcFlow;
  } catch {
    // Falls through: a missing or mangled cookie is a flow that never started here.
  }
  throw new PayrailError('dashboard_oidc_failed', { message: 'Single sign-on did not start from this browser; start it again.' });
}

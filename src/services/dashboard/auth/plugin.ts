import type { FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import type { DashboardAuthDeps } from './deps.js';
import { registerOidcRoutes } from './oidc-routes.js';
import { registerSessionRoutes } from './session-routes.js';
import { registerTotpRoutes } from './totp-routes.js';
import { registerUserRoutes } from './user-routes.js';

/**
 * The dashboard's sign-in routes, and what `requirePermission` needs at request time. Registered
 * without encapsulation (Fastify's skip-override, what fastify-plugin sets), so the cookie parser
 * and the `dashboard_auth` decoration reach the other dashboard route plugins.
 */
export function dashboardAuthRoutes(deps: DashboardAuthDeps): (app: FastifyInstance) => Promise<void> {
  const plugin = async (app: FastifyInstance) => {
    await app.register(fastifyCookie);
    app.decorate('dashboard_auth', { pool: deps.pool, clock: deps.clock, secure_cookie: deps.secure_cookie });
    app.decorateRequest('dashboard_user', undefined as never);
    registerSessionRoutes(app, deps);
    registerTotpRoutes(app, deps);
    registerUserRoutes(app, deps);
    registerOidcRoutes(app, deps);
  };
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}

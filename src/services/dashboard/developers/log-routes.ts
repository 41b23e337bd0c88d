import type { FastifyInstance } from 'fastify';
import * as P from '../../../platform/http/params.js';
import { pageSchema } from '../list-page.js';
import { requirePermission } from '../auth/index.js';
import type { DashboardDeveloperDeps } from './deps.js';
import { asUser } from './deps.js';
import { PayrailError } from '../../../kernel/errors.js';
import { auditLog, recentEvents, recentRequests } from './queries.js';

/** Recent API requests (the gateway's request log), events and the audit log, newest first, a page at a time. */

const DEFAULT_PAGE = 50;

export function logRoutes(deps: DashboardDeveloperDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/api/developers/requests', { preHandler: requirePermission('developers.read') }, async (request) => {
      const params = P.parseParams(pageSchema, request.query);
      return asUser(request, (user) => recentRequests(deps.reader, user.merchant_id, params.limit ?? DEFAULT_PAGE, params.starting_after));
    });

    app.get('/dashboard/api/developers/events', { preHandler: requirePermission('developers.read') }, async (request) => {
      const params = P.parseParams(pageSchema, request.query);
      return asUser(request, (user) => recentEvents(deps.reader, user.merchant_id, params.limit ?? DEFAULT_PAGE, params.starting_after));
    });

    app.get('/dashboard/api/audit_log', { preHandler: requirePermission('audit.read') }, async (request) => {
      const params = P.parseParams(pageSchema, request.query);
      if (params.starting_after !== undefined && !/^\d{1,18}$/.test(params.starting_after)) {
        throw new PayrailError('parameter_invalid', { param: 'starting_after', message: 'Invalid cursor: pass the next_cursor of the previous page.' });
      }
      return asUser(request, (user) => auditLog(deps.reader, user.merchant_id, params.limit ?? DEFAULT_PAGE, params.starting_after));
    });
  };
}

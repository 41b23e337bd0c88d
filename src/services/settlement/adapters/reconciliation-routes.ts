import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import type { Pool } from '../../../platform/db.js';
import * as P from '../../../platform/http/params.js';
import { adminTokenHook } from '../../../platform/http/admin-auth.js';
import { isDay } from '../domain/reconciliation.js';
import { LIST_LIMIT_MAX, exceptionsOf, findRun, listRuns } from './reconciliation-store.js';
import { renderException, renderRun } from './reconciliation-render.js';

/**
 * Reconciliation in the operators' API: `GET /admin/v1/reconciliation_runs` (newest report first,
 * `date`, `limit`), `GET /admin/v1/reconciliation_runs/:id` and its exceptions with their evidence,
 * `GET /admin/v1/reconciliation_runs/:id/exceptions` (`limit`, `starting_after`). Like the rest of
 * `/admin/v1`, it exists only with PAYRAIL_ADMIN_TOKEN set.
 */

const DEFAULT_LIMIT = 20;
const day = P.text(10).refine(isDay, { message: 'Invalid date: a day, YYYY-MM-DD.' });
const listSchema = z.strictObject({ date: day.optional(), limit: P.integer({ min: 1, max: LIST_LIMIT_MAX }).optional() });
const retrieveSchema = z.strictObject({});
const exceptionsSchema = z.strictObject({ limit: P.integer({ min: 1, max: LIST_LIMIT_MAX }).optional(), starting_after: P.text(255).optional() });

export interface ReconciliationRouteDeps {
  /** The system role's pool: a run spans merchants. */
  pool: Pool;
  admin_token: string;
}

export function reconciliationAdminRoutes(deps: ReconciliationRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminTokenHook(deps.admin_token));
    app.get('/admin/v1/reconciliation_runs', async (request) => {
      const query = P.parseParams(listSchema, request.query ?? {});
      const limit = query.limit ?? DEFAULT_LIMIT;
      const runs = await listRuns(deps.pool, { date: query.date, limit: limit + 1 });
      return { object: 'list', data: runs.slice(0, limit).map(renderRun), has_more: runs.length > limit, url: '/admin/v1/reconciliation_runs' };
    });
    app.get('/admin/v1/reconciliation_runs/:id', async (request) => {
      P.parseParams(retrieveSchema, request.query ?? {});
      return renderRun(await runOf(deps.pool, request));
    });
    app.get('/admin/v1/reconciliation_runs/:id/exceptions', async (request) => {
      const query = P.parseParams(exceptionsSchema, request.query ?? {});
      const found = await runOf(deps.pool, request);
      const limit = query.limit ?? DEFAULT_LIMIT;
      const rows = await exceptionsOf(deps.pool, found.id, query.starting_after ?? '', limit + 1);
      return {
        object: 'list',
        data: rows.slice(0, limit).map(renderException),
        has_more: rows.length > limit,
        url: `/admin/v1/reconciliation_runs/${found.id}/exceptions`,
      };
    });
  };
}

async function runOf(pool: Pool, request: FastifyRequest) {
  const id = (request.params as { id: string }).id;
  const found = P.isStorableText(id) && id.length <= 255 ? await findRun(pool, id) : undefined;
  if (!found) throw new PayrailError('resource_missing', { message: `No such reconciliation run: '${id.slice(0, 64)}'` });
  return found;
}

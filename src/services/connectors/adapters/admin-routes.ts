import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../../kernel/clock.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Pool } from '../../../platform/db.js';
import { adminTokenHook } from '../../../platform/http/admin-auth.js';
import * as P from '../../../platform/http/params.js';
import type { CredentialSealer } from '../app/connector-factory.js';
import type { HealthView } from '../domain/routing.js';
import { connectorsAdmin, parseClearRouting } from './admin-api.js';
import { ACCOUNT_ID } from './routing-schema.js';

/**
 * A merchant's connector accounts and routing rules in the operators' API
 * (`/admin/v1/merchants/:id/connector_accounts…`, `/admin/v1/merchants/:id/routing…`). Like the rest
 * of `/admin/v1`, it exists only with PAYRAIL_ADMIN_TOKEN set and answers only that bearer token.
 */

const MERCHANT_ID = /^acct_\w{1,64}$/;
const emptySchema = z.strictObject({});

export interface ConnectorAdminDeps {
  /** The system role's pool: an operator acts for any merchant. */
  pool: Pool;
  ids: IdGenerator;
  clock: Clock;
  admin_token: string;
  /** The vault's sealer for purpose `connector_credentials`. */
  sealer: CredentialSealer;
  merchant_exists: (merchant_id: string) => Promise<boolean>;
  /** The router's live health for dry runs; every account healthy without it. */
  health?: HealthView | undefined;
}

export function connectorAdminRoutes(deps: ConnectorAdminDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminTokenHook(deps.admin_token));
    app.addHook('preHandler', async (request) => {
      const id = merchantParam(request);
      if (!(await deps.merchant_exists(id))) throw new PayrailError('resource_missing', { param: 'id', message: `No such merchant: '${id}'` });
    });
    const admin = (request: FastifyRequest) =>
      connectorsAdmin({
        pool: deps.pool,
        ids: deps.ids,
        sealer: deps.sealer,
        health: deps.health,
        change: () => ({ now_ms: deps.clock.now_ms(), actor: { type: 'admin_api', request_id: request.id, client_ip: request.ip } }),
      });
    const base = '/admin/v1/merchants/:id/connector_accounts';

    app.get(base, async (request) => {
      P.parseParams(emptySchema, request.query ?? {});
      const data = await admin(request).list(merchantParam(request));
      return { object: 'list', data, has_more: false, url: `/admin/v1/merchants/${merchantParam(request)}/connector_accounts` };
    });
    app.post(base, async (request) => admin(request).create(merchantParam(request), request.body));
    app.get(`${base}/:account`, async (request) => {
      P.parseParams(emptySchema, request.query ?? {});
      return admin(request).retrieve(merchantParam(request), accountParam(request));
    });
    app.post(`${base}/:account`, async (request) => admin(request).update(merchantParam(request), accountParam(request), request.body));
    app.delete(`${base}/:account`, async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      return admin(request).remove(merchantParam(request), accountParam(request));
    });

    const routing = '/admin/v1/merchants/:id/routing';
    app.get(routing, async (request) => {
      P.parseParams(emptySchema, request.query ?? {});
      return admin(request).routing(merchantParam(request));
    });
    app.put(routing, async (request) => admin(request).setRouting(merchantParam(request), request.body ?? {}));
    app.delete(routing, async (request) => admin(request).setRouting(merchantParam(request), null, parseClearRouting(request.body)));
    app.post(`${routing}/evaluate`, async (request) => admin(request).evaluate(merchantParam(request), request.body));
  };
}

function merchantParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!MERCHANT_ID.test(id))
    throw new PayrailError('resource_missing', { param: 'id', message: 'No such merchant: ids are acct_ followed by letters and digits.' });
  return id;
}

function accountParam(request: FastifyRequest): string {
  const id = (request.params as { account?: string }).account ?? '';
  if (!ACCOUNT_ID.test(id))
    throw new PayrailError('resource_missing', { param: 'account', message: 'No such connector account: ids are mca_ followed by letters and digits.' });
  return id;
}

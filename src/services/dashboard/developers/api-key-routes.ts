import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { unixSeconds } from '../../../kernel/clock.js';
import { PayrailError } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import type { ApiKeyRecord } from '../../merchants/index.js';
import { KeyAdminError, RESOURCES, createApiKey, isResource, keyStatus, listApiKeys, rollApiKey } from '../../merchants/index.js';
import { recordDashboardAction, requirePermission } from '../auth/index.js';
import type { DashboardDeveloperDeps } from './deps.js';
import { actionContext, asUser, dashboardActor, pathId } from './deps.js';

/**
 * A merchant's API keys on the dashboard: listed redacted, restricted keys created with per-resource
 * permissions, any key rolled with an overlap for the old one. The work is the merchants service's
 * own (`createApiKey`, `rollApiKey`: audited, announced to every process's key cache); the key in
 * clear is in the create or roll response only, never stored or listed.
 */

/** Longest roll overlap, as the admin API and Stripe allow: the old key works for up to 7 days. */
const MAX_ROLL_OVERLAP_S = 7 * 24 * 3600;
const KEY_ID = /^key_[0-9A-Za-z]{1,64}$/;

const access = P.oneOf(['read', 'write'] as const);
const createSchema = z.strictObject({
  name: P.text(100),
  permissions: z.record(z.string(), access).superRefine((permissions, ctx) => {
    const names = Object.keys(permissions);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'Grant at least one permission: a restricted key without any can do nothing.' });
    const unknown = names.find((name) => !isResource(name));
    if (unknown !== undefined) ctx.addIssue({ code: 'custom', path: [unknown], message: `Unknown resource: must be one of ${RESOURCES.join(', ')}.` });
  }),
});
const rollSchema = z.strictObject({ expires_in_s: P.integer({ min: 0, max: MAX_ROLL_OVERLAP_S }).optional() });

export function apiKeyRoutes(deps: DashboardDeveloperDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/api/developers/api_keys', { preHandler: requirePermission('developers.read') }, async (request) => {
      const keys = await merchantKeys(deps, request);
      const now_s = unixSeconds(deps.clock);
      return { data: keys.reverse().map((key) => renderKey(key, now_s)), has_more: false, next_cursor: null };
    });

    app.post('/dashboard/api/developers/api_keys', { preHandler: requirePermission('developers.write') }, async (request) => {
      const params = P.parseParams(createSchema, request.body ?? {});
      const user = request.dashboard_user;
      const now_s = unixSeconds(deps.clock);
      const created = await keyCall(() =>
        createApiKey(
          deps.keys,
          user.merchant_id,
          { kind: 'restricted', livemode: deps.livemode, name: params.name, permissions: params.permissions },
          { now_s, actor: dashboardActor(request) },
        ),
      );
      await recordDashboardAction(
        deps.system,
        user,
        'api_key.created',
        created.record.id,
        { name: params.name, permissions: params.permissions },
        actionContext(request, deps.clock),
      );
      return { key: renderKey(created.record, now_s), secret: created.key };
    });

    app.post('/dashboard/api/developers/api_keys/:id/roll', { preHandler: requirePermission('developers.write') }, async (request) => {
      const params = P.parseParams(rollSchema, request.body ?? {});
      const user = request.dashboard_user;
      const key_id = pathId(request, KEY_ID);
      // The merchants service rolls any key by id: only this merchant's may be named here.
      const owned = (await merchantKeys(deps, request)).some((key) => key.id === key_id);
      if (!owned) throw new PayrailError('resource_missing', { param: 'id', message: `No such API key: '${key_id}'` });
      const now_s = unixSeconds(deps.clock);
      const expires_at = now_s + (params.expires_in_s ?? 0);
      const rolled = await keyCall(() => rollApiKey(deps.keys, key_id, { now_s, actor: dashboardActor(request), expires_at }));
      await recordDashboardAction(
        deps.system,
        user,
        'api_key.rolled',
        key_id,
        { expires_at: rolled.rolled.expires_at, replaced_by: rolled.record.id },
        actionContext(request, deps.clock),
      );
      return { key: renderKey(rolled.record, now_s), secret: rolled.key, rolled: renderKey(rolled.rolled, now_s) };
    });
  };
}

/**
 * The signed-in user's merchant's keys, read through the merchant-scoped pool: row-level security
 * holds the list (and so the roll's ownership check) to that merchant even if the id check were wrong.
 */
function merchantKeys(deps: DashboardDeveloperDeps, request: FastifyRequest): Promise<ApiKeyRecord[]> {
  return asUser(request, (user) => listApiKeys(deps.reader, user.merchant_id));
}

/** A key as the dashboard shows it: its redacted form, never the key or its hash. */
export function renderKey(key: ApiKeyRecord, now_s: number) {
  return {
    id: key.id,
    kind: key.kind,
    livemode: key.livemode,
    name: key.name,
    redacted: key.redacted,
    last4: key.redacted.slice(-4),
    created: key.created,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
    status: keyStatus(key, now_s),
    restricted_permissions: key.permissions,
  };
}

async function keyCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof KeyAdminError)) throw error;
    throw new PayrailError(error.reason === 'not_found' ? 'resource_missing' : 'api_key_unexpected_state', { message: error.message });
  }
}

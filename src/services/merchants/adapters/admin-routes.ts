import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import type { Clock } from '../../../kernel/clock.js';
import { adminTokenHook } from '../../../platform/http/admin-auth.js';
import * as P from '../../../platform/http/params.js';
import type { Actor } from '../../audit/index.js';
import { verifyAuditLog } from '../../audit/index.js';
import type { ApiKeyRecord, KeyStore } from '../app/api-keys.js';
import { KeyAdminError, createApiKey, keyStatus, listApiKeys, revokeApiKey, rollApiKey } from '../app/api-keys.js';
import { RESOURCES, isResource } from '../domain/permissions.js';

/**
 * The operators' API (`/admin/v1/…`), for what the dashboard or a provisioning script does: create,
 * list, roll and revoke a merchant's API keys, and verify the audit log. It exists only when
 * `PAYRAIL_ADMIN_TOKEN` is set, and answers only `Authorization: Bearer <that token>`.
 */

/** Longest roll overlap: the old key may keep working for up to 7 days, as Stripe allows. */
const MAX_ROLL_OVERLAP_S = 7 * 24 * 3600;

const access = P.oneOf(['read', 'write'] as const);
const createSchema = z.strictObject({
  type: P.oneOf(['secret', 'restricted', 'publishable'] as const),
  livemode: P.boolean().optional(),
  name: P.text(100).optional(),
  permissions: z
    .record(z.string(), access)
    .superRefine((permissions, ctx) => {
      const unknown = Object.keys(permissions).find((name) => !isResource(name));
      if (unknown !== undefined) ctx.addIssue({ code: 'custom', path: [unknown], message: `Unknown resource: must be one of ${RESOURCES.join(', ')}.` });
    })
    .optional(),
});
const rollSchema = z.strictObject({ expires_in: P.integer({ min: 0, max: MAX_ROLL_OVERLAP_S }).optional() });
const emptySchema = z.strictObject({});
const ANCHOR = /^(\d{1,18}):([0-9a-f]{64})$/;
const verifySchema = z.strictObject({
  anchor: P.text(100)
    .refine((value) => ANCHOR.test(value), { message: 'Invalid anchor: SEQ:HASH as a verification printed it (64 hex digits).' })
    .optional(),
});

export interface AdminRoutesDeps {
  store: KeyStore;
  clock: Clock;
  admin_token: string;
}

export function adminRoutes(deps: AdminRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminTokenHook(deps.admin_token));
    const now_s = () => Math.floor(deps.clock.now_ms() / 1000);
    const actor = (request: FastifyRequest): Actor => ({ type: 'admin_api', request_id: request.id, client_ip: request.ip });

    app.post('/admin/v1/merchants/:id/api_keys', async (request) => {
      const params = P.parseParams(createSchema, request.body ?? {});
      if (params.permissions && params.type !== 'restricted') {
        throw new PayrailError('parameter_invalid', { param: 'permissions', message: 'Only restricted keys have permissions.' });
      }
      const created = await adminCall(() =>
        createApiKey(
          deps.store,
          idParam(request),
          { kind: params.type, livemode: params.livemode, name: params.name, permissions: params.permissions },
          {
            now_s: now_s(),
            actor: actor(request),
          },
        ),
      );
      return { ...render(created.record, now_s()), secret: created.key };
    });
    app.get('/admin/v1/merchants/:id/api_keys', async (request) => {
      P.parseParams(emptySchema, request.query ?? {});
      const keys = await listApiKeys(deps.store.pool, idParam(request));
      return { object: 'list', data: keys.map((key) => render(key, now_s())), has_more: false };
    });
    app.post('/admin/v1/api_keys/:id/roll', async (request) => {
      const params = P.parseParams(rollSchema, request.body ?? {});
      const at = now_s();
      const rolled = await adminCall(() =>
        rollApiKey(deps.store, idParam(request), { now_s: at, actor: actor(request), expires_at: at + (params.expires_in ?? 0) }),
      );
      return { ...render(rolled.record, at), secret: rolled.key, rolled: render(rolled.rolled, at) };
    });
    app.post('/admin/v1/api_keys/:id/revoke', async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      return render(await adminCall(() => revokeApiKey(deps.store, idParam(request), { now_s: now_s(), actor: actor(request) })), now_s());
    });
    app.get('/admin/v1/audit/verify', async (request) => {
      const { anchor } = P.parseParams(verifySchema, request.query ?? {});
      const [, seq = '', hash = ''] = anchor === undefined ? [] : (ANCHOR.exec(anchor) ?? []);
      const report = await verifyAuditLog(deps.store.pool, anchor === undefined ? undefined : { seq, hash });
      return { object: 'audit_verification', valid: report.findings.length === 0, rows: report.rows, head: report.head, findings: report.findings };
    });
  };
}

function render(key: ApiKeyRecord, now_s: number): Record<string, unknown> {
  return {
    id: key.id,
    object: 'api_key',
    merchant: key.merchant_id,
    type: key.kind,
    livemode: key.livemode,
    name: key.name,
    redacted_key: key.redacted,
    permissions: key.permissions,
    created: key.created,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
    status: keyStatus(key, now_s),
  };
}

function idParam(request: FastifyRequest): string {
  const id = (request.params as { id: string }).id;
  if (!P.isStorableText(id)) throw new PayrailError('resource_missing', { message: 'No such object: the id contains characters no id has.' });
  return id;
}

async function adminCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof KeyAdminError)) throw error;
    throw new PayrailError(error.reason === 'not_found' ? 'resource_missing' : 'api_key_unexpected_state', { message: error.message });
  }
}

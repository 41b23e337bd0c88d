import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Pool } from '../../../platform/db.js';
import { adminTokenHook } from '../../../platform/http/admin-auth.js';
import * as P from '../../../platform/http/params.js';
import type { RuleChange } from '../app/rules-admin.js';
import { MAX_RULES_PER_MERCHANT, addRule, listMerchantRules, removeRule, setRuleEnabled, updateRule } from '../app/rules-admin.js';
import { moveRule } from '../app/rules-order.js';
import { RULE_TEXT_MAX_LENGTH } from '../domain/rule-syntax.js';

/**
 * A merchant's Radar rules in the operators' API (`/admin/v1/merchants/:id/radar/rules…`): list, add,
 * change, move, enable, disable, delete. Like the rest of `/admin/v1`, it exists only with
 * PAYRAIL_ADMIN_TOKEN set and answers only `Authorization: Bearer <that token>`.
 */

const MERCHANT_ID = /^acct_\w{1,64}$/;
const ruleSchema = z.strictObject({ rule: P.nonEmptyText(RULE_TEXT_MAX_LENGTH) });
const emptySchema = z.strictObject({});
const moveSchema = z.strictObject({ position: P.integer({ min: 1, max: MAX_RULES_PER_MERCHANT + 1 }) });

export interface RadarAdminDeps {
  /** The system role's pool: an operator acts for any merchant. */
  pool: Pool;
  ids: IdGenerator;
  clock: Clock;
  admin_token: string;
  /** From the merchants service: a rule for a merchant that does not exist is refused, never stored. */
  merchant_exists: (merchant_id: string) => Promise<boolean>;
}

export function radarAdminRoutes(deps: RadarAdminDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminTokenHook(deps.admin_token));
    app.addHook('preHandler', async (request) => {
      const id = merchantParam(request);
      if (!(await deps.merchant_exists(id))) throw new PayrailError('resource_missing', { param: 'id', message: `No such merchant: '${id}'` });
    });
    const store = { pool: deps.pool, ids: deps.ids };
    const change = (request: FastifyRequest): RuleChange => ({
      now_ms: deps.clock.now_ms(),
      actor: { type: 'admin_api', request_id: request.id, client_ip: request.ip },
    });
    const base = '/admin/v1/merchants/:id/radar/rules';

    app.get(base, async (request) => {
      P.parseParams(emptySchema, request.query ?? {});
      const data = await listMerchantRules(store, merchantParam(request));
      return { object: 'list', data, has_more: false, url: `/admin/v1/merchants/${merchantParam(request)}/radar/rules` };
    });
    app.post(base, async (request) => {
      const { rule } = P.parseParams(ruleSchema, request.body ?? {});
      return addRule(store, merchantParam(request), rule, change(request));
    });
    app.post(`${base}/:rule`, async (request) => {
      const { rule } = P.parseParams(ruleSchema, request.body ?? {});
      return updateRule(store, merchantParam(request), ruleParam(request), rule, change(request));
    });
    app.post(`${base}/:rule/disable`, async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      return setRuleEnabled(store, merchantParam(request), ruleParam(request), false, change(request));
    });
    app.post(`${base}/:rule/enable`, async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      return setRuleEnabled(store, merchantParam(request), ruleParam(request), true, change(request));
    });
    app.post(`${base}/:rule/move`, async (request) => {
      const { position } = P.parseParams(moveSchema, request.body ?? {});
      return moveRule(store, merchantParam(request), ruleParam(request), position, change(request));
    });
    app.delete(`${base}/:rule`, async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      return removeRule(store, merchantParam(request), ruleParam(request), change(request));
    });
  };
}

function merchantParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!MERCHANT_ID.test(id))
    throw new PayrailError('resource_missing', { param: 'id', message: 'No such merchant: ids are acct_ followed by letters and digits.' });
  return id;
}

function ruleParam(request: FastifyRequest): string {
  const id = (request.params as { rule?: string }).rule ?? '';
  if (!/^rule_\w{1,64}$/.test(id))
    throw new PayrailError('resource_missing', { param: 'rule', message: 'No such rule: ids are rule_ followed by letters and digits.' });
  return id;
}

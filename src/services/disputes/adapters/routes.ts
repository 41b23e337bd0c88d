import type { FastifyInstance } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import { retrieveCharge, retrieveIntent } from '../../payments/index.js';
import type { DisputesDeps } from '../app/deps.js';
import * as Disputes from '../app/disputes.js';
import * as Warnings from '../app/early-fraud-warnings.js';
import * as S from './route-schemas.js';

type Json = Record<string, unknown>;

/** The Disputes and early fraud warnings APIs, behind the gateway's authentication; every POST runs through the write pipeline. */
export function disputesRoutes(deps: DisputesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write, (merchant_id, body, fields) => expandDispute(deps, merchant_id, body, fields));
    post('/v1/disputes/:id', S.updateSchema, [], (ctx, p, r) => Disputes.updateDisputeEvidence(deps, ctx, pathId(r), p));
    post('/v1/disputes/:id/close', S.closeSchema, [], (ctx, _p, r) => Disputes.closeDispute(deps, ctx, pathId(r)));
    get('/v1/disputes/:id', S.retrieveSchema, (m, _q, r) => Disputes.retrieveDispute(deps, m, pathId(r)));
    get('/v1/radar/early_fraud_warnings/:id', S.retrieveWarningSchema, (m, _q, r) => Warnings.retrieveFraudWarning(deps, m, pathId(r)));
    get('/v1/radar/early_fraud_warnings', S.listWarningsSchema, async (m, q) =>
      listOf('/v1/radar/early_fraud_warnings', await Warnings.listAllFraudWarnings(deps, m, { charge: q.charge, payment_intent: q.payment_intent }, pageOf(q))),
    );
    get('/v1/disputes', S.listSchema, async (m, q) =>
      listOf('/v1/disputes', await Disputes.listAllDisputes(deps, m, { charge: q.charge, payment_intent: q.payment_intent }, pageOf(q))),
    );
  };
}

async function expandDispute(deps: DisputesDeps, merchant_id: string, body: Json, fields: readonly string[]): Promise<Json> {
  if (body.object === 'list') {
    const inner = fields.map((field) => {
      if (!field.startsWith('data.')) throw unexpandable(field);
      return field.slice('data.'.length);
    });
    return { ...body, data: await Promise.all((body.data as Json[]).map((item) => expandDispute(deps, merchant_id, item, inner))) };
  }
  const expanded = { ...body };
  for (const field of fields) {
    const allowed = body.object === 'dispute' ? S.canExpandDisputePath([field]) : S.canExpandWarningPath([field]);
    if (!allowed) throw unexpandable(field);
    const id = body[field];
    if (field === 'charge' && typeof id === 'string') expanded.charge = await retrieveCharge(deps.payments, merchant_id, id);
    if (field === 'payment_intent' && typeof id === 'string') expanded.payment_intent = await retrieveIntent(deps.payments, merchant_id, id);
  }
  return expanded;
}

function unexpandable(field: string): PayrailError {
  const shown = /^[\w.]{1,100}$/.test(field) ? field : 'the given path';
  return new PayrailError('parameter_invalid', { param: 'expand', message: `This property cannot be expanded (${shown}).` });
}

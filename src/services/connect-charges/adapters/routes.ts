import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { listOf, pageOf, pathId, pathParam, routeKit } from '../../../platform/http/routes.js';
import type { ConnectChargesDeps } from '../app/deps.js';
import * as Fees from '../app/application-fees.js';

/** /v1/application_fees and their refunds, the platform's; the fees themselves come from captures. */

// Expansion of fees' related objects is not offered yet: any path is refused with Stripe's error.
const noExpand = () => expandable(() => false).optional();
const noExpandList = () => expandableList(() => false).optional();

const listSchema = z.strictObject({ ...P.listParams, charge: P.text(255).optional(), expand: noExpandList() });
const retrieveSchema = z.strictObject({ expand: noExpand() });
const refundListSchema = z.strictObject({ ...P.listParams, expand: noExpandList() });
const createRefundSchema = z.strictObject({ amount: P.amount().optional(), metadata: P.metadata().optional(), expand: noExpand() });
const updateRefundSchema = z.strictObject({ metadata: P.metadata().optional(), expand: noExpand() });

export function applicationFeeRoutes(deps: ConnectChargesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write);
    get('/v1/application_fees', listSchema, async (m, q) => listOf('/v1/application_fees', await Fees.listApplicationFees(deps, m, q.charge, pageOf(q))));
    get('/v1/application_fees/:id', retrieveSchema, (m, _q, r) => Fees.retrieveApplicationFee(deps, m, pathId(r)));
    get('/v1/application_fees/:id/refunds', refundListSchema, async (m, q, r) =>
      listOf(`/v1/application_fees/${pathId(r)}/refunds`, await Fees.listFeeRefunds(deps, m, pathId(r), pageOf(q))),
    );
    post('/v1/application_fees/:id/refunds', createRefundSchema, ['fee_refund'], (ctx, p, r) => Fees.createFeeRefund(ctx, pathId(r), p));
    get('/v1/application_fees/:fee/refunds/:id', retrieveSchema, (m, _q, r) => Fees.retrieveFeeRefund(deps, m, pathParam(r, 'fee'), pathId(r)));
    post('/v1/application_fees/:fee/refunds/:id', updateRefundSchema, [], (ctx, p, r) => Fees.updateFeeRefund(ctx, pathParam(r, 'fee'), pathId(r), p));
  };
}

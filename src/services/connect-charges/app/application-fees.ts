import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { outboxInsert } from '../../events/index.js';
import { connectTransferWrites, transferId } from '../../ledger/index.js';
import type { FeeRefund } from '../domain/fee-refund.js';
import { feeRefundMovement, planFeeRefund } from '../domain/fee-refund.js';
import { findFeeRefund, getFee, insertFeeRefund, listFees, updateFee, updateFeeRefundMetadata } from '../adapters/store.js';
import { renderApplicationFee, renderFeeRefund } from '../adapters/render.js';
import type { ConnectChargesDeps } from './deps.js';

/** The platform's application fees and their refunds (Stripe's /v1/application_fees). */

type Json = Record<string, unknown>;
const EMBEDDED_REFUNDS_LIMIT = 10;

export async function retrieveApplicationFee(deps: ConnectChargesDeps, merchant_id: string, id: string): Promise<Json> {
  const { fee } = await getFee(deps.write.reader, merchant_id, id);
  return renderApplicationFee(fee, await refundsOf(deps, merchant_id, id, { limit: EMBEDDED_REFUNDS_LIMIT }));
}

export async function listApplicationFees(deps: ConnectChargesDeps, merchant_id: string, charge: string | undefined, page: PageRequest): Promise<Page<Json>> {
  const result = await listFees(deps.write.reader, merchant_id, charge, page);
  const data = await Promise.all(
    result.data.map(async (fee) => renderApplicationFee(fee, await refundsOf(deps, merchant_id, fee.id, { limit: EMBEDDED_REFUNDS_LIMIT }))),
  );
  return { data, has_more: result.has_more };
}

export async function listFeeRefunds(deps: ConnectChargesDeps, merchant_id: string, fee_id: string, page: PageRequest): Promise<Page<Json>> {
  await getFee(deps.write.reader, merchant_id, fee_id);
  const result = await refundsOf(deps, merchant_id, fee_id, page);
  return { data: result.data.map(renderFeeRefund), has_more: result.has_more };
}

export async function retrieveFeeRefund(deps: ConnectChargesDeps, merchant_id: string, fee_id: string, id: string): Promise<Json> {
  return renderFeeRefund(await feeRefundOf(deps.write.reader, merchant_id, fee_id, id));
}

function refundsOf(deps: ConnectChargesDeps, merchant_id: string, fee_id: string, page: PageRequest): Promise<Page<FeeRefund>> {
  return listPage<FeeRefund>(deps.write.reader, { table: 'connect_charges.fee_refunds', column: 'state' }, merchant_id, [sql`fee_id = ${fee_id}`], page);
}

async function feeRefundOf(db: OperationContext['reader'], merchant_id: string, fee_id: string, id: string): Promise<FeeRefund> {
  const refund = await findFeeRefund(db, merchant_id, id);
  if (!refund || refund.fee !== fee_id) throw new PayrailError('resource_missing', { param: 'id', message: `No such fee refund: '${id.slice(0, 64)}'` });
  return refund;
}

export interface CreateFeeRefundParams {
  amount?: number | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/**
 * Gives part or all of an application fee back to the connected account it was taken from: the
 * platform's available balance pays it, through connect_transfers, in the refund's own commit. The
 * fee's version guards the refunded amount, so concurrent refunds never add up past the fee.
 */
export async function createFeeRefund(ctx: OperationContext, fee_id: string, params: CreateFeeRefundParams): Promise<Outcome> {
  const { fee, version } = await getFee(ctx.reader, ctx.merchant_id, fee_id);
  const amount = planFeeRefund(fee, params.amount);
  const id = ctx.ids.next('fee_refund');
  const movement = feeRefundMovement(fee, id, amount, { event_id: ctx.request.id ?? id, type: 'application_fee.refunded' }, ctx.now_s);
  const refund: FeeRefund = {
    id,
    merchant_id: ctx.merchant_id,
    fee: fee.id,
    amount,
    currency: fee.currency,
    balance_transaction: transferId(movement.platform.kind, movement.platform.source_id, movement.created),
    metadata: mergeMetadata({}, params.metadata ?? {}),
    created: ctx.now_s,
  };
  const refunded = { ...fee, amount_refunded: fee.amount_refunded + amount };
  const rendered = renderApplicationFee(refunded, { data: [refund], has_more: false });
  const outcome: Outcome = { ok: renderFeeRefund(refund) };
  await ctx.commit(
    [
      insertFeeRefund(refund),
      updateFee(refunded, version),
      ...connectTransferWrites(movement),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
        { type: 'application_fee.refunded', object: rendered, previous_attributes: { amount_refunded: fee.amount_refunded, refunded: false } },
      ]),
    ],
    outcome,
  );
  return outcome;
}

export async function updateFeeRefund(
  ctx: OperationContext,
  fee_id: string,
  id: string,
  params: { metadata?: Record<string, string | null> | null | undefined },
): Promise<Outcome> {
  const before = await feeRefundOf(ctx.reader, ctx.merchant_id, fee_id, id);
  const refund = { ...before, metadata: params.metadata !== undefined ? mergeMetadata(before.metadata, params.metadata) : before.metadata };
  const outcome: Outcome = { ok: renderFeeRefund(refund) };
  await ctx.commit([updateFeeRefundMetadata(refund)], outcome);
  return outcome;
}

import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Charge } from '../domain/charge.js';
import { previousAttributes } from '../../../kernel/previous-attributes.js';
import { renderCharge, renderRefund } from '../adapters/render.js';
import { getCharge, getCustomer, getRefund, updateCharge, updateRefundMetadata } from '../adapters/store.js';
import type { ShippingParams } from './intent-params.js';
import { shippingOf } from './intent-params.js';
import { eventsWrite } from './events.js';

/** `POST /v1/charges/:id` and `POST /v1/refunds/:id`: the fields Stripe lets a merchant change after the fact. */

export interface UpdateChargeParams {
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  receipt_email?: string | null | undefined;
  shipping?: ShippingParams | null | undefined;
  fraud_details?: { user_report: '' | 'fraudulent' | 'safe' } | undefined;
  customer?: string | undefined;
}

/** A concurrent change of the same charge (a refund, a capture) fails the version guard: `lock_timeout`, retryable. */
export async function updateChargeParams(ctx: OperationContext, id: string, params: UpdateChargeParams): Promise<Outcome> {
  const before = await getCharge(ctx.reader, ctx.merchant_id, id);
  if (params.customer !== undefined) {
    if (before.customer !== null && before.customer !== params.customer) {
      throw new PayrailError('parameter_invalid', { param: 'customer', message: 'This charge already has a customer; it cannot be changed.' });
    }
    await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer');
  }
  const charge: Charge = {
    ...before,
    ...(params.description !== undefined ? { description: params.description } : {}),
    ...(params.receipt_email !== undefined ? { receipt_email: params.receipt_email } : {}),
    ...(params.shipping !== undefined ? { shipping: params.shipping === null ? null : shippingOf(params.shipping) } : {}),
    ...(params.customer !== undefined ? { customer: params.customer } : {}),
    ...(params.fraud_details ? { fraud_details: params.fraud_details.user_report === '' ? {} : { user_report: params.fraud_details.user_report } } : {}),
    metadata: params.metadata !== undefined ? mergeMetadata(before.metadata, params.metadata) : before.metadata,
    version: before.version + 1,
  };
  const rendered = renderCharge(charge);
  const outcome: Outcome = { ok: rendered };
  const previous_attributes = previousAttributes(renderCharge(before), rendered);
  await ctx.commit([updateCharge(charge, before.version), eventsWrite(ctx, [{ type: 'charge.updated', object: rendered, previous_attributes }])], outcome);
  return outcome;
}

/** Only the metadata changes; the guard is the metadata it was derived from, so the processor's answer to a pending refund never conflicts with it. */
export async function updateRefundParams(
  ctx: OperationContext,
  id: string,
  params: { metadata?: Record<string, string | null> | null | undefined },
): Promise<Outcome> {
  const before = await getRefund(ctx.reader, ctx.merchant_id, id);
  if (params.metadata === undefined) {
    const outcome: Outcome = { ok: renderRefund(before) };
    await ctx.commit([], outcome);
    return outcome;
  }
  const refund = { ...before, metadata: mergeMetadata(before.metadata, params.metadata) };
  const rendered = renderRefund(refund);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      updateRefundMetadata(refund, before.metadata),
      eventsWrite(ctx, [{ type: 'charge.refund.updated', object: rendered, previous_attributes: { metadata: before.metadata } }]),
    ],
    outcome,
  );
  return outcome;
}

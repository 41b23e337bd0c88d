import { sql, withTransaction, isLockNotAvailable } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Charge, Refund } from '../domain/charge.js';
import { applyRefund, checkCharge, planRefund } from '../domain/charge.js';
import { renderCharge, renderRefund } from '../adapters/render.js';
import { getCharge, getIntent, getRefund, insertRefund, refundsOfCharge, updateCharge } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './intents.js';

const EMBEDDED_REFUNDS_LIMIT = 10;

export async function retrieveCharge(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const charge = await getCharge(deps.pool, merchant_id, id);
  const refunds = await refundsOfCharge(deps.pool, merchant_id, id, EMBEDDED_REFUNDS_LIMIT + 1);
  return renderCharge(charge, { data: refunds.slice(0, EMBEDDED_REFUNDS_LIMIT), has_more: refunds.length > EMBEDDED_REFUNDS_LIMIT });
}

export async function listCharges(deps: PaymentsDeps, merchant_id: string, page: PageRequest, filter: { payment_intent?: string | undefined; customer?: string | undefined }): Promise<Page<Record<string, unknown>>> {
  const filters = [
    ...(filter.payment_intent ? [sql`payment_intent_id = ${filter.payment_intent}`] : []),
    ...(filter.customer ? [sql`customer_id = ${filter.customer}`] : []),
  ];
  const result = await listPage<Charge>(deps.pool, { table: 'payments.charges', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map((charge) => renderCharge(checkCharge(charge))), has_more: result.has_more };
}

export interface CreateRefundParams {
  charge?: string | undefined;
  payment_intent?: string | undefined;
  amount?: number | undefined;
  reason?: Refund['reason'] | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/**
 * Refunds part or all of a charge's captured amount. The charge row is locked for the decision, and
 * the database's own check (refunded ≤ captured) backs it up, so concurrent refunds can never add up
 * to more than was captured.
 */
export async function createRefund(deps: PaymentsDeps, ctx: OperationContext, params: CreateRefundParams): Promise<Outcome> {
  if (!params.charge && !params.payment_intent) throw new PayrailError('parameter_missing', { param: 'charge', message: 'One of charge or payment_intent is required.' });
  if (params.charge && params.payment_intent) throw new PayrailError('parameters_exclusive', { param: 'payment_intent', message: 'Pass only one of charge or payment_intent.' });
  try {
    return await withTransaction(deps.pool, async (db) => {
      const charge_id = params.charge ?? (await getIntent(db, ctx.merchant_id, params.payment_intent ?? '', 'read', 'payment_intent')).latest_charge;
      if (!charge_id) throw new PayrailError('charge_not_captured', { param: 'payment_intent', message: 'This PaymentIntent has no charge to refund.' });
      const before = await getCharge(db, ctx.merchant_id, charge_id, 'lock', params.charge ? 'charge' : 'payment_intent');
      const amount = planRefund(before, params.amount);
      const refund_id = ctx.ids.next('refund');
      const processed = await deps.connector.refund(refund_id, before.id, amount);
      const refund: Refund = {
        id: refund_id, merchant_id: ctx.merchant_id, amount, currency: before.currency, charge: before.id, payment_intent: before.payment_intent,
        status: processed.outcome === 'succeeded' ? 'succeeded' : 'failed',
        reason: params.reason ?? null,
        failure_reason: processed.outcome === 'failed' ? 'unknown' : null,
        metadata: Object.fromEntries(Object.entries(params.metadata ?? {}).filter((e): e is [string, string] => e[1] !== null)),
        created: ctx.now_s,
      };
      const charge = processed.outcome === 'succeeded' ? applyRefund(before, amount) : before;
      const outcome: Outcome = { ok: renderRefund(refund) };
      const writes = [insertRefund(refund)];
      if (charge !== before) writes.push(updateCharge(charge, before.version));
      writes.push(eventsWrite(ctx, [
        { type: 'refund.created', object: renderRefund(refund) },
        ...(charge !== before ? [{ type: 'charge.refunded', object: renderCharge(charge), previous_attributes: { amount_refunded: before.amount_refunded, refunded: false } }] : []),
      ]));
      await ctx.commit(db, writes, outcome);
      return outcome;
    });
  } catch (error) {
    if (isLockNotAvailable(error)) throw new PayrailError('lock_timeout');
    throw error;
  }
}

export async function retrieveRefund(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderRefund(await getRefund(deps.pool, merchant_id, id));
}

export async function listRefunds(deps: PaymentsDeps, merchant_id: string, page: PageRequest, filter: { charge?: string | undefined; payment_intent?: string | undefined }): Promise<Page<Record<string, unknown>>> {
  const filters = [
    ...(filter.charge ? [sql`charge_id = ${filter.charge}`] : []),
    ...(filter.payment_intent ? [sql`payment_intent_id = ${filter.payment_intent}`] : []),
  ];
  const result = await listPage<Refund>(deps.pool, { table: 'payments.refunds', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map(renderRefund), has_more: result.has_more };
}

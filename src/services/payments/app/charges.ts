import { sql } from '../../../platform/db.js';
import { metrics } from '../../../platform/metrics.js';
import type { RefundResult } from '../../connectors/index.js';
import type { EventDraft } from '../../events/index.js';
import { auditedChange } from '../../audit/index.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Charge, Refund } from '../domain/charge.js';
import type { RefundShares } from '../domain/destination.js';
import { refundShares } from '../domain/destination.js';
import { applyRefund, checkCharge, planRefund, releaseRefund } from '../domain/charge.js';
import { renderCharge, renderRefund } from '../adapters/render.js';
import {
  answerProcessorCall,
  takeProcessorCall,
  answerRefund,
  findRefund,
  getCharge,
  getIntent,
  getRefund,
  insertProcessorCall,
  insertRefund,
  refundsOfCharge,
  updateCharge,
} from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './events.js';
import type { WhenUnknown } from './attempt.js';
import { AttemptStillOpen, orphanOnFailure } from './attempt.js';

const EMBEDDED_REFUNDS_LIMIT = 10;

export async function retrieveCharge(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const charge = await getCharge(deps.reader, merchant_id, id);
  const refunds = await refundsOfCharge(deps.reader, merchant_id, id, EMBEDDED_REFUNDS_LIMIT + 1);
  return renderCharge(charge, { data: refunds.slice(0, EMBEDDED_REFUNDS_LIMIT), has_more: refunds.length > EMBEDDED_REFUNDS_LIMIT });
}

export async function listCharges(
  deps: PaymentsDeps,
  merchant_id: string,
  page: PageRequest,
  filter: { payment_intent?: string | undefined; customer?: string | undefined },
): Promise<Page<Record<string, unknown>>> {
  const filters = [
    ...(filter.payment_intent ? [sql`payment_intent_id = ${filter.payment_intent}`] : []),
    ...(filter.customer ? [sql`customer_id = ${filter.customer}`] : []),
  ];
  const result = await listPage<Charge>(deps.reader, { table: 'payments.charges', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map((charge) => renderCharge(checkCharge(charge))), has_more: result.has_more };
}

export interface CreateRefundParams {
  charge?: string | undefined;
  payment_intent?: string | undefined;
  amount?: number | undefined;
  reason?: Refund['reason'] | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  reverse_transfer?: boolean | undefined;
  refund_application_fee?: boolean | undefined;
}

/**
 * Refunds part or all of a charge's captured amount. The refund is recorded `pending` first, with the
 * amount taken from the charge under its version (the database checks refunded ≤ captured), so
 * concurrent refunds can never add up to more than was captured; then the processor is called with
 * nothing held, and its answer is recorded. A refund whose answer was lost is settled by asking.
 */
export async function createRefund(deps: PaymentsDeps, ctx: OperationContext, params: CreateRefundParams): Promise<Outcome> {
  if (!params.charge && !params.payment_intent)
    throw new PayrailError('parameter_missing', { param: 'charge', message: 'One of charge or payment_intent is required.' });
  if (params.charge && params.payment_intent)
    throw new PayrailError('parameters_exclusive', { param: 'payment_intent', message: 'Pass only one of charge or payment_intent.' });
  const left = ctx.resumed ? await findRefund(ctx.reader, ctx.merchant_id, ctx.reserved('refund') ?? '') : undefined;
  if (left) return left.status === 'pending' ? settleOpenRefund(deps, ctx, left, 'resend') : settledRefund(ctx, left);
  const charge_id = params.charge ?? (await getIntent(ctx.reader, ctx.merchant_id, params.payment_intent ?? '', 'payment_intent')).latest_charge;
  if (!charge_id) throw new PayrailError('charge_not_captured', { param: 'payment_intent', message: 'This PaymentIntent has no charge to refund.' });
  const before = await getCharge(ctx.reader, ctx.merchant_id, charge_id, params.charge ? 'charge' : 'payment_intent');
  if (before.charged_back === true) {
    throw new PayrailError('charge_disputed', {
      param: params.charge ? 'charge' : 'payment_intent',
      message: `Charge ${before.id} has been charged back; cannot issue a refund.`,
    });
  }
  const amount = planRefund(before, params.amount);
  const connect = connectShares(before, amount, params);
  const pending: Refund = {
    id: ctx.ids.next('refund'),
    merchant_id: ctx.merchant_id,
    amount,
    currency: before.currency,
    charge: before.id,
    payment_intent: before.payment_intent,
    status: 'pending',
    reason: params.reason ?? null,
    failure_reason: null,
    metadata: Object.fromEntries(Object.entries(params.metadata ?? {}).filter((e): e is [string, string] => e[1] !== null)),
    created: ctx.now_s,
    ...(before.charges_api ? { charges_api: true as const } : {}),
    ...(connect ? { connect } : {}),
  };
  await ctx.record([
    insertRefund(pending),
    updateCharge(applyRefund(before, amount), before.version),
    insertProcessorCall({ merchant_id: ctx.merchant_id, id: pending.id, kind: 'refund', payment_intent_id: pending.payment_intent }, ctx.holder, ctx.now_ms),
    // Audited as it is asked for, before the processor hears of it; its outcome is the refund's own record.
    auditedChange(ctx, { type: 'refund.created', object_id: pending.id, data: { charge: before.id, amount, currency: before.currency } }),
  ]);
  return orphanOnFailure(ctx, pending.id, async () => finishRefund(ctx, pending, await deps.connector.refund(pending.id, before.id, amount)));
}

/** Records the processor's answer to a pending refund; a failed refund gives its amount back to the charge. */
async function finishRefund(ctx: OperationContext, pending: Refund, answer: RefundResult, seen_holder?: number | null): Promise<Outcome> {
  const charge = await getCharge(ctx.reader, ctx.merchant_id, pending.charge);
  const refund: Refund = {
    ...pending,
    status: answer.outcome === 'succeeded' ? 'succeeded' : 'failed',
    failure_reason: answer.outcome === 'failed' ? 'unknown' : null,
  };
  const outcome: Outcome = { ok: renderRefund(refund) };
  const writes = [answerRefund(refund), answerProcessorCall(ctx.merchant_id, refund.id, seen_holder)];
  const events: EventDraft[] = [{ type: 'refund.created', object: renderRefund(refund), ...refundFacts(refund) }];
  if (refund.status === 'succeeded') {
    const previous = charge.amount_refunded - refund.amount;
    events.push({ type: 'charge.refunded', object: renderCharge(charge), previous_attributes: { amount_refunded: previous, refunded: false } });
  } else {
    writes.push(updateCharge(releaseRefund(charge, refund.amount), charge.version));
  }
  await ctx.commit([...writes, eventsWrite(ctx, events)], outcome);
  return outcome;
}

/**
 * Settles a refund left pending by a request that died or lost the answer: asks the processor. What
 * happens when it never heard of the refund is the caller's choice, as for attempts.
 */
export async function settleOpenRefund(
  deps: PaymentsDeps,
  ctx: OperationContext,
  pending: Refund,
  when_unknown: WhenUnknown,
  seen_holder?: number | null,
): Promise<Outcome> {
  const status = await deps.connector.refundStatus(pending.id);
  if (!status.found && when_unknown === 'wait') throw new AttemptStillOpen(`refund ${pending.id} is unknown to the processor; a retry may still send it`);
  metrics.callSettled('refund', status.found ? 'answered' : when_unknown === 'resend' ? 'resent' : 'never_reached');
  if (status.found) return finishRefund(ctx, pending, status, seen_holder);
  if (when_unknown === 'fail') return finishRefund(ctx, pending, { outcome: 'failed', message: 'The refund never reached the processor.' }, seen_holder);
  // Taken over before it is sent again, so the sweeper cannot record it failed meanwhile.
  await ctx.record([takeProcessorCall(ctx.merchant_id, pending.id, ctx.holder, ctx.now_ms, 'pending')]);
  return orphanOnFailure(ctx, pending.id, async () => finishRefund(ctx, pending, await deps.connector.refund(pending.id, pending.charge, pending.amount)));
}

async function settledRefund(ctx: OperationContext, refund: Refund): Promise<Outcome> {
  const outcome: Outcome = { ok: renderRefund(refund) };
  await ctx.commit([], outcome);
  return outcome;
}

export async function retrieveRefund(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderRefund(await getRefund(deps.reader, merchant_id, id));
}

export async function listRefunds(
  deps: PaymentsDeps,
  merchant_id: string,
  page: PageRequest,
  filter: { charge?: string | undefined; payment_intent?: string | undefined },
): Promise<Page<Record<string, unknown>>> {
  const filters = [
    ...(filter.charge ? [sql`charge_id = ${filter.charge}`] : []),
    ...(filter.payment_intent ? [sql`payment_intent_id = ${filter.payment_intent}`] : []),
  ];
  const result = await listPage<Refund>(deps.reader, { table: 'payments.refunds', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map(renderRefund), has_more: result.has_more };
}

/**
 * A destination charge's refund may take back its transfer and application fee in proportion
 * (Stripe's `reverse_transfer`, `refund_application_fee`); without them the platform bears the refund.
 * Either asked of a charge without a transfer (or fee) is refused, as Stripe refuses it.
 */
function connectShares(charge: Charge, amount: number, params: CreateRefundParams): RefundShares | undefined {
  const asked = { reverse_transfer: params.reverse_transfer === true, refund_application_fee: params.refund_application_fee === true };
  if (asked.reverse_transfer && !charge.transfer_data) {
    throw new PayrailError('parameter_invalid', {
      param: 'reverse_transfer',
      message: `Charge ${charge.id} has no transfer to reverse: it is not a destination charge.`,
    });
  }
  if (asked.refund_application_fee && !charge.application_fee_amount) {
    throw new PayrailError('parameter_invalid', { param: 'refund_application_fee', message: `Charge ${charge.id} has no application fee to refund.` });
  }
  if (!asked.reverse_transfer && !asked.refund_application_fee) return undefined;
  const shares = refundShares(charge, amount, asked);
  return shares.transfer_reversal > 0 || shares.application_fee_refund > 0 ? shares : undefined;
}

/** The shares ride on the refund's event for connect-charges, never in the Stripe object. */
function refundFacts(refund: Refund): Pick<EventDraft, 'internal'> {
  if (!refund.connect || refund.status === 'failed') return {};
  return { internal: { transfer_reversal: String(refund.connect.transfer_reversal), application_fee_refund: String(refund.connect.application_fee_refund) } };
}

import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { outboxInsert } from '../../events/index.js';
import type { Subscription } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import * as Inv from '../domain/invoice.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { getSubscription, updateSubscription } from '../adapters/subscription-store.js';
import { getInvoice, updateInvoice } from '../adapters/invoice-store.js';
import { renderInvoice } from '../adapters/invoice-render.js';
import type { BillingDeps } from './deps.js';
import { payInvoice } from './invoice-payment.js';
import { pricesOf } from './subscription-prices.js';
import { subscriptionUpdatedEvent } from './subscription-events.js';

/**
 * The first invoice's payment, after the subscription and the invoice are recorded. Stripe's
 * `payment_behavior`: `allow_incomplete` (the default) tries to pay and answers the subscription as
 * the payment left it (active, or incomplete after a decline); `default_incomplete` leaves the
 * invoice for the client to pay; `error_if_incomplete` answers a decline with the card's 402 error,
 * and the subscription, which was recorded before the attempt, ends `incomplete_expired` with its
 * invoice void, so nothing is left to bill.
 */
export interface FirstPaymentParams {
  payment_behavior?: 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | undefined;
  off_session?: boolean | undefined;
}

export async function settleFirstInvoice(deps: BillingDeps, ctx: OperationContext, recorded: Subscription, params: FirstPaymentParams): Promise<Outcome> {
  const behavior = params.payment_behavior ?? 'allow_incomplete';
  let error: PayrailError | null = null;
  if (recorded.status === 'incomplete' && behavior !== 'default_incomplete' && recorded.latest_invoice !== null) {
    const invoice = await getInvoice(ctx.reader, ctx.merchant_id, recorded.latest_invoice);
    if (invoice.status === 'open') error = await firstPayment(deps, ctx, invoice.id, params.off_session ?? false);
  }
  const now = await getSubscription(ctx.reader, ctx.merchant_id, recorded.id);
  if (error !== null && behavior === 'error_if_incomplete' && now.status === 'incomplete') {
    return expireFirstAttempt(deps, ctx, now, error);
  }
  const outcome: Outcome = { ok: renderSubscription(now, await pricesOf(ctx.reader, now)) };
  await ctx.commit([], outcome);
  return outcome;
}

/** `error_if_incomplete` after a decline: the subscription expires and its invoice is voided, in one statement with their events. */
async function expireFirstAttempt(deps: BillingDeps, ctx: OperationContext, before: Subscription, error: PayrailError): Promise<Outcome> {
  const { writes, events } = await expireWrites(deps, ctx, before);
  const outcome: Outcome = { error };
  await ctx.commit([...writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

/** An incomplete subscription ends `incomplete_expired`; its open first invoice is voided, as Stripe does. */
export async function expireWrites(deps: BillingDeps, ctx: OperationContext, before: Subscription) {
  const after = Sub.evolve(before, { status: 'incomplete_expired', ended_at: ctx.now_s });
  const writes = updateSubscription(after, before.version);
  const events = [await subscriptionUpdatedEvent(ctx, before, after)];
  if (before.latest_invoice !== null) {
    const invoice = await getInvoice(ctx.reader, ctx.merchant_id, before.latest_invoice);
    if (Inv.canDo(invoice.status, 'void')) {
      const voided = Inv.voidInvoice(invoice, ctx.now_s);
      writes.push(updateInvoice(voided, invoice.version));
      events.push({ type: 'invoice.voided', object: renderInvoice(voided, deps.public_url()) });
    }
  }
  return { writes, events, subscription: after };
}

/** The decline of the first payment, if any; a payment that needs the customer (3-D Secure) leaves the subscription incomplete, as in Stripe. */
async function firstPayment(deps: BillingDeps, ctx: OperationContext, invoice_id: string, off_session: boolean): Promise<PayrailError | null> {
  try {
    return (await payInvoice(deps, ctx.merchant_id, invoice_id, { off_session }, ctx.request.id)).error;
  } catch (error) {
    if (error instanceof PayrailError && error.status < 500) return error;
    throw error;
  }
}

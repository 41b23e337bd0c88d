import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Subscription } from '../domain/subscription.js';
import { getSubscription } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { payInvoice } from './invoice-payment.js';

/**
 * Pays the invoice a subscription change made (always_invoice prorations, the end of a trial), after
 * the change is recorded, as Stripe's default `allow_incomplete` does: a decline leaves the change in
 * place and the invoice open (the invoice hooks make the subscription past_due), and the answer is the
 * subscription as the payment left it.
 */
export async function settleChangeInvoice(
  deps: BillingDeps,
  ctx: OperationContext,
  subscription_id: string,
  invoice_id: string,
  off_session: boolean,
  answer: (subscription: Subscription) => Promise<Record<string, unknown>>,
): Promise<Outcome> {
  const before = await getSubscription(ctx.reader, ctx.merchant_id, subscription_id);
  if (before.collection_method === 'charge_automatically') await payQuietly(deps, ctx, invoice_id, off_session);
  const now = await getSubscription(ctx.reader, ctx.merchant_id, subscription_id);
  const outcome: Outcome = { ok: await answer(now) };
  await ctx.commit([], outcome);
  return outcome;
}

/**
 * A payment the change could not make (it needs 3-D Secure, or no payment method is on file) leaves
 * the invoice open for the customer, as Stripe's `allow_incomplete` does; the change stands.
 */
export async function payQuietly(deps: BillingDeps, ctx: OperationContext, invoice_id: string, off_session: boolean): Promise<void> {
  await payInvoice(deps, ctx.merchant_id, invoice_id, { off_session }, ctx.request.id).catch((error: unknown) => {
    if (!(error instanceof PayrailError) || error.status >= 500) throw error;
  });
}

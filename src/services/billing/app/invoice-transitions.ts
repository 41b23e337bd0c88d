import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import { cancelIntent, retrieveIntent } from '../../payments/index.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Invoice } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import { renderInvoice } from '../adapters/invoice-render.js';
import { getInvoice, updateInvoice } from '../adapters/invoice-store.js';
import type { BillingDeps } from './deps.js';
import { finalizationOf, retryLostRace } from './invoice-drafts.js';
import { runFor } from './invoice-run.js';

/** Finalize, void and mark uncollectible: the invoice's state machine (domain/invoice.ts) through the write pipeline. */

export async function finalizeInvoice(deps: BillingDeps, ctx: OperationContext, id: string, params: { auto_advance?: boolean | undefined }): Promise<Outcome> {
  // The number is taken in the committing statement under a guard: losing the race to another
  // finalization of this merchant means reading the counter again and taking the next one.
  return retryLostRace(async () => {
    const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
    Inv.requireAllowed(before, 'finalize');
    const draft = params.auto_advance === undefined ? before : { ...before, auto_advance: params.auto_advance };
    const finalized = await finalizationOf(deps, ctx, draft);
    const outcome: Outcome = { ok: renderInvoice(finalized.invoice, deps.public_url()) };
    await ctx.commit(
      [updateInvoice(finalized.invoice, before.version), ...finalized.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, finalized.events)],
      outcome,
    );
    return outcome;
  });
}

/** PaymentIntent states that can still be canceled: no payment made or in flight. */
const CANCELABLE: ReadonlySet<unknown> = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);

/**
 * Voids an open or uncollectible invoice and, as Stripe does, cancels its PaymentIntent
 * (`void_invoice`). An invoice whose PaymentIntent has been paid, or is being paid, is not voided.
 */
export async function voidOpenInvoice(deps: BillingDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  const intent = before.payment_intent === null ? null : await retrieveIntent(deps.payments, ctx.merchant_id, before.payment_intent);
  if (intent && !CANCELABLE.has(intent.status)) {
    throw new PayrailError('invoice_unexpected_state', {
      message: `This invoice cannot be voided: its PaymentIntent is \`${String(intent.status)}\`. Pay it again to record the payment.`,
    });
  }
  const after = Inv.voidInvoice(before, ctx.now_s);
  const outcome = await commitTransition(ctx, before, after, { type: 'invoice.voided', object: renderInvoice(after, deps.public_url()) });
  if (intent) {
    const intent_id = String(intent.id);
    const cancel: UseCase<Record<string, never>> = {
      reserves: [],
      run: (inner) => cancelIntent(deps.payments, inner, intent_id, { cancellation_reason: 'void_invoice' }),
    };
    await runFor(deps, ctx.merchant_id, ctx.request.id, cancel, {}, `invoice:${id}:void`);
  }
  return outcome;
}

export async function markInvoiceUncollectible(deps: BillingDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  const after = Inv.markUncollectible(before, ctx.now_s);
  return commitTransition(ctx, before, after, { type: 'invoice.marked_uncollectible', object: renderInvoice(after, deps.public_url()) });
}

async function commitTransition(ctx: OperationContext, before: Invoice, after: Invoice, event: EventDraft): Promise<Outcome> {
  const outcome: Outcome = { ok: event.object };
  await ctx.commit([updateInvoice(after, before.version), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [event])], outcome);
  return outcome;
}

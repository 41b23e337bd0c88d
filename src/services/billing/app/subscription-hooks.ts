import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { Invoice } from '../domain/invoice.js';
import type { Subscription, SubscriptionStatus } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import { findSubscription, updateSubscription } from '../adapters/subscription-store.js';
import type { HookEffects, InvoiceHook } from './invoice-hooks.js';
import { subscriptionUpdatedEvent } from './subscription-events.js';

/**
 * What an invoice's payment does to its subscription, committed in the invoice's own statement:
 * paid moves incomplete / past_due / unpaid to active; a failed renewal payment moves active to
 * past_due. A subscription still being created (its first invoice paid at finalization, nothing
 * due) is not stored yet: its creation sets the status itself.
 */
export function subscriptionInvoiceHooks(): { paid: InvoiceHook; payment_failed: InvoiceHook } {
  return {
    paid: (ctx, invoice) => moveStatus(ctx, invoice, Sub.statusAfterPaid),
    payment_failed: (ctx, invoice) =>
      moveStatus(ctx, invoice, (status) => Sub.statusAfterPaymentFailed(status, invoice.billing_reason === 'subscription_create')),
  };
}

const NONE: HookEffects = { writes: [], events: [] };

async function moveStatus(ctx: OperationContext, invoice: Invoice, next: (status: SubscriptionStatus) => SubscriptionStatus): Promise<HookEffects> {
  if (invoice.subscription === null) return NONE;
  const before = await findSubscription(ctx.reader, ctx.merchant_id, invoice.subscription);
  // An invoice older than the subscription's latest one says nothing about its status now.
  if (!before || before.latest_invoice !== invoice.id) return NONE;
  const status = next(before.status);
  if (status === before.status) return NONE;
  const after: Subscription = Sub.evolve(before, { status });
  const event: EventDraft = await subscriptionUpdatedEvent(ctx, before, after);
  return { writes: updateSubscription(after, before.version), events: [event] };
}

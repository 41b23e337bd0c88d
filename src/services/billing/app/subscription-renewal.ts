import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Invoice } from '../domain/invoice.js';
import type { Subscription } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { findSubscription, getSubscription, updateSubscription } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { draftInvoiceWrites } from './invoice-drafts.js';
import { subscriptionDeletedEvent, subscriptionUpdatedEvent } from './subscription-events.js';
import { expireWrites } from './subscription-payment.js';
import { pricesOf } from './subscription-prices.js';
import { RENEWING, nextPeriodLines } from './subscription-upcoming.js';

/**
 * What renewals runs at a period's end (the contract in the shared contracts file): planRenewal
 * answers the writes that move a subscription into its next period with its `subscription_cycle`
 * invoice (drafted and finalized, taking pending proration items), or end it (`cancel_at` reached).
 * Renewals commits them with its own guard row, then pays the invoice. Also the ends renewals decides
 * on: after dunning, and an incomplete subscription's expiry.
 */

export interface RenewalPlan {
  writes: SqlFragment[];
  /** The cycle's invoice, finalized (renewals reads its status and collection); null when the subscription ended instead. */
  invoice: Invoice | null;
  subscription: Subscription;
}

/** Null when the subscription is no longer at the end of that period (already renewed, or ended). */
export async function planRenewal(deps: BillingDeps, ctx: OperationContext, subscription_id: string, period_end_s: number): Promise<RenewalPlan | null> {
  const before = await findSubscription(ctx.reader, ctx.merchant_id, subscription_id);
  if (!before || !RENEWING.has(before.status) || before.current_period_end !== period_end_s) return null;
  if (before.cancel_at !== null && before.cancel_at <= period_end_s) return endAtPeriodEnd(ctx, before);
  const { period, lines } = await nextPeriodLines(ctx.reader, ctx.merchant_id, before);
  const invoice = await draftInvoiceWrites(deps, ctx, {
    customer: before.customer,
    currency: before.currency,
    subscription: before.id,
    billing_reason: 'subscription_cycle',
    collection_method: before.collection_method,
    days_until_due: before.days_until_due,
    period_start: before.current_period_start,
    period_end: period_end_s,
    lines,
    include_pending_items: true,
    auto_advance: true,
    default_payment_method: before.default_payment_method,
    finalize: true,
  });
  const after = Sub.evolve(before, {
    status: before.status === 'trialing' ? 'active' : before.status,
    current_period_start: period.start,
    current_period_end: period.end,
    latest_invoice: invoice.invoice.id,
  });
  const events: EventDraft[] = [await subscriptionUpdatedEvent(ctx, before, after), ...invoice.events];
  return {
    writes: [...updateSubscription(after, before.version), ...invoice.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)],
    invoice: invoice.invoice,
    subscription: after,
  };
}

/** `cancel_at` (or `cancel_at_period_end`) reached: the subscription ends at the period's end, with no new invoice. */
async function endAtPeriodEnd(ctx: OperationContext, before: Subscription): Promise<RenewalPlan> {
  const after = Sub.evolve(before, { status: 'canceled', ended_at: before.current_period_end, canceled_at: before.canceled_at ?? before.current_period_end });
  const event = await subscriptionDeletedEvent(ctx, after);
  return {
    writes: [...updateSubscription(after, before.version), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [event])],
    invoice: null,
    subscription: after,
  };
}

/** Dunning gave up: the subscription is canceled (`customer.subscription.deleted`) or left unpaid (`.updated`), as the merchant configured. */
export async function endAfterDunning(_deps: BillingDeps, ctx: OperationContext, subscription_id: string, end: 'cancel' | 'unpaid'): Promise<Outcome> {
  const before = await getSubscription(ctx.reader, ctx.merchant_id, subscription_id);
  if (before.status !== 'past_due') return { ok: renderSubscription(before, await pricesOf(ctx.reader, before)) };
  const after =
    end === 'cancel'
      ? Sub.evolve(before, { status: 'canceled', canceled_at: ctx.now_s, ended_at: ctx.now_s, cancellation_reason: 'payment_failed' })
      : Sub.evolve(before, { status: 'unpaid' });
  const event = end === 'cancel' ? await subscriptionDeletedEvent(ctx, after) : await subscriptionUpdatedEvent(ctx, before, after);
  const outcome: Outcome = { ok: renderSubscription(after, await pricesOf(ctx.reader, after)) };
  await ctx.commit([...updateSubscription(after, before.version), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [event])], outcome);
  return outcome;
}

/** Stripe: an incomplete subscription whose first invoice is unpaid 23 hours after creation expires, and the invoice is voided. */
export async function expireIncomplete(deps: BillingDeps, ctx: OperationContext, subscription_id: string): Promise<Outcome> {
  const before = await getSubscription(ctx.reader, ctx.merchant_id, subscription_id);
  if (before.status !== 'incomplete' || before.created + Sub.INCOMPLETE_EXPIRY_S > ctx.now_s) {
    return { ok: renderSubscription(before, await pricesOf(ctx.reader, before)) };
  }
  const { writes, events, subscription } = await expireWrites(deps, ctx, before);
  const outcome: Outcome = { ok: renderSubscription(subscription, await pricesOf(ctx.reader, subscription)) };
  await ctx.commit([...writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

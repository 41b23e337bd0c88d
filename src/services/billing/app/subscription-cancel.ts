import { PayrailError } from '../../../kernel/errors.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Subscription } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import type { CancelSubscriptionParams } from '../adapters/subscription-schemas.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { getSubscription, updateSubscription } from '../adapters/subscription-store.js';
import { pendingItems } from '../adapters/invoice-store.js';
import type { BillingDeps } from './deps.js';
import { retryLostRace } from './invoice-drafts.js';
import { payQuietly } from './subscription-change-payment.js';
import { billingNow } from './subscription-clock.js';
import { subscriptionDeletedEvent } from './subscription-events.js';
import { expireWrites } from './subscription-payment.js';
import { loadPrices, pricesOf, productNames } from './subscription-prices.js';
import { prorationWrites } from './subscription-proration.js';

/**
 * DELETE /v1/subscriptions/:id: cancels at once (`customer.subscription.deleted`). `prorate=true`
 * credits the unused time of the current period (pending invoice items, taken by the customer's next
 * invoice); `invoice_now=true` bills the credit and any pending items at once on a final invoice,
 * paid if anything is due. An incomplete subscription expires instead (`incomplete_expired`, its first
 * invoice voided), as in Stripe.
 */
export async function cancelSubscription(deps: BillingDeps, ctx: OperationContext, id: string, params: CancelSubscriptionParams): Promise<Outcome> {
  const done = await retryLostRace(async () => {
    const before = await getSubscription(ctx.reader, ctx.merchant_id, id);
    if (Sub.isEnded(before.status)) {
      throw new PayrailError('parameter_invalid', { message: `This subscription is already ${before.status === 'canceled' ? 'canceled' : 'expired'}.` });
    }
    const plan =
      before.status === 'incomplete' ? { ...(await expireWrites(deps, ctx, before)), invoice_id: null } : await cancelWrites(deps, ctx, before, params);
    const writes = [...plan.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, plan.events)];
    if (plan.invoice_id !== null) {
      await ctx.record(writes);
      return { kind: 'paying' as const, invoice_id: plan.invoice_id, collection: before.collection_method };
    }
    const outcome: Outcome = { ok: renderSubscription(plan.subscription, await pricesOf(ctx.reader, plan.subscription)) };
    await ctx.commit(writes, outcome);
    return { kind: 'done' as const, outcome };
  });
  if (done.kind === 'done') return done.outcome;
  if (done.collection === 'charge_automatically') await payQuietly(deps, ctx, done.invoice_id, true);
  const after = await getSubscription(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: renderSubscription(after, await pricesOf(ctx.reader, after)) };
  await ctx.commit([], outcome);
  return outcome;
}

interface CancelPlan {
  writes: SqlFragment[];
  events: EventDraft[];
  /** The final invoice to pay (invoice_now with something due); null otherwise. */
  invoice_id: string | null;
  subscription: Subscription;
}

async function cancelWrites(deps: BillingDeps, ctx: OperationContext, before: Subscription, params: CancelSubscriptionParams): Promise<CancelPlan> {
  const now_s = await billingNow(ctx, before.test_clock);
  let after = Sub.evolve(before, { status: 'canceled', canceled_at: now_s, ended_at: now_s, cancellation_reason: 'cancellation_requested' });
  const writes: SqlFragment[] = [];
  const events: EventDraft[] = [];
  let invoice_id: string | null = null;
  // A trial was never billed, so there is nothing to credit.
  const prorate = params.prorate === true && before.status !== 'trialing';
  const pending = params.invoice_now === true ? await pendingItems(ctx.reader, ctx.merchant_id, before.customer) : [];
  if (prorate || pending.some((item) => item.currency === before.currency)) {
    const book = await loadPrices(
      ctx.reader,
      ctx.merchant_id,
      before.items.map((item) => ({ price: item.price, param: 'items', must_be_active: false })),
    );
    const names = await productNames(ctx.reader, ctx.merchant_id, book);
    const behavior = params.invoice_now === true ? 'always_invoice' : 'create_prorations';
    const billed = await prorationWrites(deps, ctx, {
      before,
      after: { ...after, items: [] },
      book,
      names,
      now_s,
      params: { proration_behavior: prorate ? behavior : 'none' },
      // invoice_now without prorate still bills the customer's pending items.
      invoice_even_without_lines: params.invoice_now === true,
    });
    writes.push(...billed.writes);
    events.push(...billed.events);
    if (billed.invoice) {
      after = { ...after, latest_invoice: billed.invoice.id };
      invoice_id = billed.invoice.status === 'open' ? billed.invoice.id : null;
    }
  }
  events.unshift(await subscriptionDeletedEvent(ctx, after));
  return { writes: [...updateSubscription(after, before.version), ...writes], events, invoice_id, subscription: after };
}

import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Subscription } from '../domain/subscription.js';
import * as Sub from '../domain/subscription.js';
import { applyItemChanges } from '../domain/subscription-items.js';
import { boundary } from '../domain/periods.js';
import { checkTrialEnd } from '../domain/subscription-start.js';
import type { UpdateSubscriptionParams } from '../adapters/subscription-schemas.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { getSubscription, updateSubscription } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { draftInvoiceWrites, retryLostRace } from './invoice-drafts.js';
import { requireCustomerPaymentMethod } from './invoice-payment-method.js';
import { billingNow } from './subscription-clock.js';
import { subscriptionUpdatedEvent } from './subscription-events.js';
import { itemAmount, itemLine, loadPrices, pricesOf, productNames } from './subscription-prices.js';
import { prorationWrites } from './subscription-proration.js';
import { settleChangeInvoice } from './subscription-change-payment.js';

/**
 * POST /v1/subscriptions/:id. Item changes mid-period are prorated by the second (proration.ts):
 * `create_prorations` (the default) leaves the lines as pending invoice items for the next invoice,
 * `always_invoice` bills them at once on a `subscription_update` invoice, `none` bills nothing.
 * `trial_end=now` ends a trial and bills a whole period from now. Every change is one statement
 * with `customer.subscription.updated` (and `previous_attributes`); an invoice made by the change is
 * recorded with it before its payment is tried.
 */
export async function updateSubscriptionParams(deps: BillingDeps, ctx: OperationContext, id: string, params: UpdateSubscriptionParams): Promise<Outcome> {
  return changeSubscription(deps, ctx, id, params, async (subscription) => renderSubscription(subscription, await pricesOf(ctx.reader, subscription)));
}

/** Stripe's answer to a change: the subscription, or (for /v1/subscription_items) one of its items. */
export type ChangeAnswer = (subscription: Subscription) => Promise<Record<string, unknown>>;

export async function changeSubscription(
  deps: BillingDeps,
  ctx: OperationContext,
  id: string,
  params: UpdateSubscriptionParams,
  answer: ChangeAnswer,
): Promise<Outcome> {
  const done = await retryLostRace(async () => {
    const change = await planChange(deps, ctx, id, params);
    const writes = [...change.writes, ...(change.events.length > 0 ? [outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, change.events)] : [])];
    if (change.invoice_id !== null) {
      await ctx.record(writes);
      return { kind: 'paying' as const, invoice_id: change.invoice_id };
    }
    const outcome: Outcome = { ok: await answer(change.subscription) };
    await ctx.commit(writes, outcome);
    return { kind: 'done' as const, outcome };
  });
  if (done.kind === 'done') return done.outcome;
  return settleChangeInvoice(deps, ctx, id, done.invoice_id, params.off_session ?? true, answer);
}

interface Change {
  subscription: Subscription;
  writes: SqlFragment[];
  events: EventDraft[];
  /** An invoice the change made (always_invoice, trial_end=now): recorded with it, paid after. */
  invoice_id: string | null;
}

async function planChange(deps: BillingDeps, ctx: OperationContext, id: string, params: UpdateSubscriptionParams): Promise<Change> {
  const before = await getSubscription(ctx.reader, ctx.merchant_id, id);
  if (Sub.isEnded(before.status)) {
    throw new PayrailError('parameter_invalid', { message: `A ${before.status} subscription can no longer be updated.` });
  }
  const now_s = await billingNow(ctx, before.test_clock);
  if (params.default_payment_method !== undefined) {
    await requireCustomerPaymentMethod(deps, ctx.merchant_id, before.customer, params.default_payment_method, 'default_payment_method');
  }
  const changed = applyItemChanges(before.items, params.items ?? [], () => ctx.ids.next('subscription_item'), now_s);
  const book = await loadPrices(ctx.reader, ctx.merchant_id, [
    ...changed.items.map((item) => ({ price: item.price, param: 'items', must_be_active: false })),
    ...before.items.map((item) => ({ price: item.price, param: 'items', must_be_active: false })),
    ...changed.new_prices.map((p) => ({ price: p.price, param: p.param, must_be_active: true })),
  ]);
  const { currency, recurrence } = Sub.checkItemPrices(
    changed.items.map((item) => book.get(item.price)!),
    'items',
  );
  const { interval, interval_count } = recurrence;
  if (currency !== before.currency || interval !== before.recurrence.interval || interval_count !== before.recurrence.interval_count) {
    throw new PayrailError('parameter_invalid', {
      param: 'items',
      message: `The new prices bill in ${currency} every ${interval_count} ${interval}(s); this subscription bills in ${before.currency} every ${before.recurrence.interval_count} ${before.recurrence.interval}(s). Payrail does not change a subscription's currency or billing interval: create a new subscription.`,
    });
  }
  let after: Subscription = Sub.evolve(before, {
    items: changed.items,
    ...cancellation(before, params, now_s),
    ...(params.collection_method !== undefined ? collection(params) : {}),
    ...(params.default_payment_method !== undefined ? { default_payment_method: params.default_payment_method } : {}),
    ...(params.description !== undefined ? { description: params.description } : {}),
    ...(params.metadata !== undefined ? { metadata: mergeMetadata(before.metadata, params.metadata) } : {}),
  });
  const writes: SqlFragment[] = [];
  const events: EventDraft[] = [];
  let invoice_id: string | null = null;
  const names = await productNames(ctx.reader, ctx.merchant_id, book);
  const trial = trialChange(after, params.trial_end, now_s);
  if (trial === 'end_now') {
    // Stripe: the billing cycle restarts now, and a whole period is billed at once.
    const period = { start: now_s, end: boundary(now_s, after.recurrence, 1) };
    after = { ...after, status: 'active', trial_end: now_s, billing_cycle_anchor: now_s, current_period_start: period.start, current_period_end: period.end };
    const lines = after.items.map((item) => itemLine(book, names, item, period, itemAmount(book, item), 'period'));
    const invoice = await draftInvoiceWrites(deps, ctx, invoiceDraft(after, lines, period));
    after = { ...after, latest_invoice: invoice.invoice.id };
    writes.push(...invoice.writes);
    events.push(...invoice.events);
    invoice_id = invoice.invoice.status === 'open' ? invoice.invoice.id : null;
  } else if (trial !== null) {
    after = { ...after, trial_end: trial, billing_cycle_anchor: trial, current_period_end: trial };
  } else if (after.status !== 'trialing' && after.status !== 'incomplete') {
    const prorated = await prorationWrites(deps, ctx, { before, after, book, names, now_s, params });
    writes.push(...prorated.writes);
    events.push(...prorated.events);
    if (prorated.invoice) {
      after = { ...after, latest_invoice: prorated.invoice.id };
      invoice_id = prorated.invoice.status === 'open' ? prorated.invoice.id : null;
    }
  }
  after = Sub.checkSubscription(after);
  const updated = await subscriptionUpdatedEvent(ctx, before, after);
  const changes = Object.keys(updated.previous_attributes ?? {}).length > 0;
  return {
    subscription: after,
    writes: changes ? [...updateSubscription(after, before.version, changed.removed), ...writes] : writes,
    events: changes ? [updated, ...events] : events,
    invoice_id,
  };
}

function invoiceDraft(subscription: Subscription, lines: ReturnType<typeof itemLine>[], period: { start: number; end: number }) {
  return {
    customer: subscription.customer,
    currency: subscription.currency,
    subscription: subscription.id,
    billing_reason: 'subscription_update' as const,
    collection_method: subscription.collection_method,
    days_until_due: subscription.days_until_due,
    period_start: period.start,
    period_end: period.start,
    lines,
    include_pending_items: true,
    auto_advance: true,
    default_payment_method: subscription.default_payment_method,
    finalize: true,
  };
}

/** Stripe: `cancel_at_period_end=true` sets `cancel_at` to the period's end and `canceled_at` to now; false (or `cancel_at=""`) clears both. */
function cancellation(before: Subscription, params: UpdateSubscriptionParams, now_s: number): Partial<Subscription> {
  if (params.cancel_at_period_end !== undefined && params.cancel_at !== undefined) {
    throw new PayrailError('parameters_exclusive', {
      param: 'cancel_at',
      message: 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.',
    });
  }
  if (params.cancel_at_period_end === true)
    return { cancel_at_period_end: true, cancel_at: before.current_period_end, canceled_at: now_s, cancellation_reason: 'cancellation_requested' };
  if (params.cancel_at_period_end === false || params.cancel_at === '')
    return { cancel_at_period_end: false, cancel_at: null, canceled_at: null, cancellation_reason: null };
  if (params.cancel_at !== undefined) {
    Sub.checkCancelAt(params.cancel_at, before.current_period_end);
    return {
      cancel_at: params.cancel_at,
      cancel_at_period_end: params.cancel_at === before.current_period_end,
      canceled_at: now_s,
      cancellation_reason: 'cancellation_requested',
    };
  }
  return {};
}

function collection(params: UpdateSubscriptionParams): Partial<Subscription> {
  if (params.collection_method === 'send_invoice') {
    if (params.days_until_due === undefined)
      throw new PayrailError('parameter_missing', { param: 'days_until_due', message: 'Missing required param: days_until_due.' });
    return { collection_method: 'send_invoice', days_until_due: params.days_until_due };
  }
  if (params.days_until_due !== undefined) {
    throw new PayrailError('parameter_invalid', {
      param: 'days_until_due',
      message: 'Invalid days_until_due: it can only be set when collection_method is send_invoice.',
    });
  }
  return { collection_method: 'charge_automatically', days_until_due: null };
}

/** `trial_end` on update: `now` ends a trial; a future time moves it. Payrail starts no trial on a subscription already billed. */
function trialChange(subscription: Subscription, trial_end: UpdateSubscriptionParams['trial_end'], now_s: number): 'end_now' | number | null {
  if (trial_end === undefined) return null;
  if (subscription.status !== 'trialing') {
    throw new PayrailError('parameter_invalid', { param: 'trial_end', message: 'Payrail changes trial_end only while the subscription is trialing.' });
  }
  return trial_end === 'now' ? 'end_now' : checkTrialEnd(trial_end, now_s, 'trial_end');
}

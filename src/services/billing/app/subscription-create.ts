import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { outboxInsert } from '../../events/index.js';
import type { Subscription, SubscriptionItem } from '../domain/subscription.js';
import { checkCancelAt, checkItemPrices, checkSubscription } from '../domain/subscription.js';
import { checkTrialEnd, firstAmount, planStart } from '../domain/subscription-start.js';
import type { CreateSubscriptionParams } from '../adapters/subscription-schemas.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { findSubscription, insertSubscription } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { customerFacts, draftInvoiceWrites, retryLostRace } from './invoice-drafts.js';
import { requireCustomerPaymentMethod } from './invoice-payment-method.js';
import { billingNow } from './subscription-clock.js';
import { itemAmount, itemLine, loadPrices, productNames, renderedPrices } from './subscription-prices.js';
import { settleFirstInvoice } from './subscription-payment.js';
import { subscriptionCreatedEvent } from './subscription-events.js';

/**
 * POST /v1/subscriptions. The subscription and its first invoice (drafted and finalized) are recorded
 * in one statement before any payment is tried, so no card is charged for a subscription that does
 * not exist; then the invoice is paid through invoices' payInvoice (its own idempotency keys, derived
 * from the invoice), and the answer is the subscription as the payment left it. A retry of the same
 * Idempotency-Key after a crash finds the recorded subscription and only settles its payment.
 */
export async function createSubscription(deps: BillingDeps, ctx: OperationContext, params: CreateSubscriptionParams): Promise<Outcome> {
  const reserved = ctx.reserved('subscription');
  const recorded = reserved === null ? undefined : await findSubscription(ctx.reader, ctx.merchant_id, reserved);
  // One id for every try: a retry after a crash looks for the subscription under the reserved id.
  const id = reserved ?? ctx.ids.next('subscription');
  const subscription = recorded ?? (await retryLostRace(() => recordSubscription(deps, ctx, id, params)));
  return settleFirstInvoice(deps, ctx, subscription, params);
}

async function recordSubscription(deps: BillingDeps, ctx: OperationContext, id: string, params: CreateSubscriptionParams): Promise<Subscription> {
  const customer = await customerFacts(deps, ctx.merchant_id, params.customer);
  const now_s = await billingNow(ctx, customer.test_clock);
  const book = await loadPrices(
    ctx.reader,
    ctx.merchant_id,
    params.items.map((item, index) => ({ price: item.price, param: `items[${index}][price]`, must_be_active: true })),
  );
  const { currency, recurrence } = checkItemPrices(
    params.items.map((item) => book.get(item.price)!),
    'items',
  );
  if (params.currency !== undefined && params.currency !== currency) {
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `The currency \`${params.currency}\` does not match the items' prices (\`${currency}\`).`,
    });
  }
  const collection_method = params.collection_method ?? 'charge_automatically';
  checkCollection(collection_method, params.days_until_due);
  const trial_end = trialEnd(params, now_s);
  const start = planStart({
    now_s,
    recurrence,
    trial_end,
    billing_cycle_anchor: params.billing_cycle_anchor ?? null,
    prorate: (params.proration_behavior ?? 'create_prorations') !== 'none',
  });
  if (params.cancel_at !== undefined) checkCancelAt(params.cancel_at, start.period.end);
  if (params.cancel_at !== undefined && params.cancel_at_period_end === true) {
    throw new PayrailError('parameters_exclusive', {
      param: 'cancel_at_period_end',
      message: 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.',
    });
  }
  const items: SubscriptionItem[] = params.items.map((item) => ({
    id: ctx.ids.next('subscription_item'),
    price: item.price,
    quantity: item.quantity ?? 1,
    metadata: mergeMetadata({}, item.metadata ?? {}),
    created: now_s,
  }));
  if (params.default_payment_method !== undefined) {
    await requireCustomerPaymentMethod(deps, ctx.merchant_id, params.customer, params.default_payment_method, 'default_payment_method');
  }
  const payment_method = params.default_payment_method ?? customer.default_payment_method;
  const first_amounts = items.map((item) => firstAmount(start, recurrence, itemAmount(book, item)));
  const due = first_amounts.reduce((sum, amount) => sum + amount, 0);
  const charges = collection_method === 'charge_automatically' && due > 0;
  if (charges && payment_method === null && params.payment_behavior !== 'default_incomplete') {
    throw new PayrailError('resource_missing', {
      param: 'default_payment_method',
      message: 'This customer has no attached payment source or default payment method. Please consider adding a default payment method.',
    });
  }
  const names = await productNames(ctx.reader, ctx.merchant_id, book);
  const invoice = await draftInvoiceWrites(deps, ctx, {
    customer: params.customer,
    currency,
    subscription: id,
    billing_reason: 'subscription_create',
    collection_method,
    days_until_due: params.days_until_due ?? null,
    period_start: start.period.start,
    period_end: start.period.start,
    lines: items.map((item, index) => itemLine(book, names, item, start.period, first_amounts[index] ?? 0, start.trial ? 'trial' : 'period')),
    include_pending_items: true,
    auto_advance: true,
    default_payment_method: params.default_payment_method ?? null,
    description: params.description ?? null,
    finalize: true,
  });
  const subscription = checkSubscription({
    id,
    merchant_id: ctx.merchant_id,
    customer: params.customer,
    currency,
    status: start.trial ? 'trialing' : charges ? 'incomplete' : 'active',
    items,
    recurrence,
    billing_cycle_anchor: start.billing_cycle_anchor,
    current_period_start: start.period.start,
    current_period_end: start.period.end,
    cancel_at: params.cancel_at ?? null,
    cancel_at_period_end: params.cancel_at_period_end ?? false,
    canceled_at: null,
    ended_at: null,
    cancellation_reason: null,
    collection_method,
    days_until_due: collection_method === 'send_invoice' ? (params.days_until_due ?? null) : null,
    default_payment_method: params.default_payment_method ?? null,
    description: params.description ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    latest_invoice: invoice.invoice.id,
    start_date: now_s,
    trial_start: start.trial?.start ?? null,
    trial_end: start.trial?.end ?? null,
    test_clock: customer.test_clock,
    created: now_s,
    version: 1,
  });
  const rendered = renderSubscription(subscription, renderedPrices(book)) as { id: string };
  await ctx.record([
    ...insertSubscription(subscription),
    ...invoice.writes,
    outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [subscriptionCreatedEvent(rendered), ...invoice.events]),
  ]);
  return subscription;
}

function checkCollection(method: 'charge_automatically' | 'send_invoice', days_until_due: number | undefined): void {
  if (method === 'charge_automatically' && days_until_due !== undefined) {
    throw new PayrailError('parameter_invalid', {
      param: 'days_until_due',
      message: 'Invalid days_until_due: it can only be set when collection_method is send_invoice.',
    });
  }
  if (method === 'send_invoice' && days_until_due === undefined) {
    throw new PayrailError('parameter_missing', { param: 'days_until_due', message: 'Missing required param: days_until_due.' });
  }
}

function trialEnd(params: CreateSubscriptionParams, now_s: number): number | null {
  if (params.trial_end !== undefined && params.trial_period_days !== undefined) {
    throw new PayrailError('parameters_exclusive', {
      param: 'trial_period_days',
      message: 'You may only specify one of these parameters: trial_end, trial_period_days.',
    });
  }
  if (params.trial_end !== undefined && params.trial_from_plan === true) {
    throw new PayrailError('parameters_exclusive', {
      param: 'trial_from_plan',
      message: 'You may only specify one of these parameters: trial_end, trial_from_plan.',
    });
  }
  if (params.trial_end === 'now' || params.trial_period_days === 0) return null;
  if (params.trial_end !== undefined) return checkTrialEnd(params.trial_end, now_s, 'trial_end');
  if (params.trial_period_days !== undefined) return checkTrialEnd(now_s + params.trial_period_days * 86_400, now_s, 'trial_period_days');
  // trial_from_plan: prices carry no trial_period_days in Payrail's catalog, so no plan grants a trial.
  return null;
}

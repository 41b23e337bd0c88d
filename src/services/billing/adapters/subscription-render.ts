import type { Subscription, SubscriptionItem } from '../domain/subscription.js';

/**
 * Stripe's Subscription and SubscriptionItem objects (API 2023-08-16). An item carries its whole
 * price object, as Stripe's does; `prices` holds the rendered prices of the subscription's items.
 * Fields for features Payrail does not have (tax, discounts, Connect, schedules, pausing) are
 * rendered as Stripe renders them when unused.
 */

export type RenderedPrices = ReadonlyMap<string, Record<string, unknown>>;

export function renderSubscriptionItem(subscription: Pick<Subscription, 'id'>, item: SubscriptionItem, prices: RenderedPrices): Record<string, unknown> {
  return {
    id: item.id,
    object: 'subscription_item',
    billing_thresholds: null,
    created: item.created,
    metadata: item.metadata,
    price: prices.get(item.price) ?? { id: item.price, object: 'price' },
    quantity: item.quantity,
    subscription: subscription.id,
    tax_rates: [],
  };
}

export function renderSubscription(subscription: Subscription, prices: RenderedPrices): Record<string, unknown> {
  const s = subscription;
  return {
    id: s.id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false },
    billing_cycle_anchor: s.billing_cycle_anchor,
    billing_thresholds: null,
    cancel_at: s.cancel_at,
    cancel_at_period_end: s.cancel_at_period_end,
    canceled_at: s.canceled_at,
    cancellation_details: { comment: null, feedback: null, reason: s.cancellation_reason },
    collection_method: s.collection_method,
    created: s.created,
    currency: s.currency,
    current_period_end: s.current_period_end,
    current_period_start: s.current_period_start,
    customer: s.customer,
    days_until_due: s.days_until_due,
    default_payment_method: s.default_payment_method,
    default_source: null,
    default_tax_rates: [],
    description: s.description,
    discount: null,
    ended_at: s.ended_at,
    items: {
      object: 'list',
      data: s.items.map((item) => renderSubscriptionItem(s, item, prices)),
      has_more: false,
      total_count: s.items.length,
      url: `/v1/subscription_items?subscription=${s.id}`,
    },
    latest_invoice: s.latest_invoice,
    livemode: false,
    metadata: s.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: s.start_date,
    status: s.status,
    test_clock: s.test_clock,
    transfer_data: null,
    trial_end: s.trial_end,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: s.trial_start,
  };
}

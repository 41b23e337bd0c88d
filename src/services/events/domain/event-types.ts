import { STRIPE_EVENT_TYPES } from './stripe-event-types.js';

/**
 * Every event type Payrail emits, with the operation that emits it. One list: the webhook consumer
 * subscribes to it and `docs/events.md` documents it (a test keeps the two and the code that emits
 * events in step). Each is one of Stripe's types (stripe-event-types.ts), which is what webhook
 * endpoints' `enabled_events` are validated against: Payrail emits nothing Stripe does not.
 */
export const EVENT_TYPES = {
  'payment_intent.created': 'POST /v1/payment_intents',
  'payment_intent.succeeded': 'a confirm (or 3-D Secure completion, or capture) that ends in success',
  'payment_intent.payment_failed': 'a confirm whose attempt is declined or blocked',
  'payment_intent.requires_action': 'a confirm that needs 3-D Secure',
  'payment_intent.amount_capturable_updated': 'a confirm with capture_method=manual that is authorized',
  'payment_intent.canceled': 'POST /v1/payment_intents/:id/cancel',
  'payment_intent.processing': 'a confirm (automatic capture) whose payment a Radar rule placed in review: authorized, captured on approval',
  'charge.succeeded': 'a successful attempt (authorized, and captured unless manual)',
  'charge.failed': 'a declined or blocked attempt',
  'charge.captured': 'POST /v1/payment_intents/:id/capture',
  'charge.refunded': 'POST /v1/refunds',
  'refund.created': 'POST /v1/refunds',
  'charge.updated': 'POST /v1/charges/:id',
  'charge.refund.updated': 'POST /v1/refunds/:id',
  'charge.dispute.created': "a processor's notification that a captured charge is disputed",
  'charge.dispute.funds_withdrawn': 'a chargeback opening (or an inquiry becoming one): amount and fee leave the balance',
  'charge.dispute.updated': 'POST /v1/disputes/:id; an inquiry that becomes a chargeback',
  'charge.dispute.funds_reinstated': 'a won chargeback: amount and fee come back',
  'charge.dispute.closed': 'POST /v1/disputes/:id/close, or the test-mode outcome of submitted evidence',
  'radar.early_fraud_warning.created': "a processor's notification that the card's issuer reported a captured charge as fraud",
  'radar.early_fraud_warning.updated': 'a dispute opening on the charge of an actionable early fraud warning (no longer actionable)',
  'customer.created': 'POST /v1/customers',
  'customer.updated': 'POST /v1/customers/:id',
  'customer.deleted': 'DELETE /v1/customers/:id',
  'payment_method.attached': 'POST /v1/payment_methods/:id/attach',
  'payment_method.detached': 'POST /v1/payment_methods/:id/detach',
  'payment_method.updated': 'POST /v1/payment_methods/:id',
  'review.opened': 'a confirm whose payment a Radar rule (or a failed risk evaluation) placed in review',
  'review.closed': 'POST /v1/reviews/:id/approve, or POST /v1/payment_intents/:id/cancel of a payment in review',
  'setup_intent.created': 'POST /v1/setup_intents',
  'setup_intent.requires_action': 'a SetupIntent confirm whose card needs 3-D Secure',
  'setup_intent.succeeded': 'a SetupIntent confirm (or 3-D Secure completion) whose card is verified',
  'setup_intent.setup_failed': 'a SetupIntent confirm whose card is declined or fails 3-D Secure',
  'setup_intent.canceled': 'POST /v1/setup_intents/:id/cancel',
  'checkout.session.completed': 'a hosted Checkout page whose payment succeeds or whose card is saved',
  'checkout.session.expired': 'POST /v1/checkout/sessions/:id/expire, or an open session past its expires_at',
  'payout.created': 'POST /v1/payouts, or an automatic payout on the merchant’s schedule',
  'payout.updated': 'POST /v1/payouts/:id, and every status change of a payout',
  'payout.paid': 'the bank paid a payout out',
  'payout.failed': 'the bank refused a payout (the funds return to the balance)',
  'payout.canceled': 'POST /v1/payouts/:id/cancel',
  'account.external_account.created': 'POST /v1/accounts/:id/external_accounts',
  'account.external_account.updated': 'POST /v1/accounts/:id/external_accounts/:ba',
  'account.external_account.deleted': 'DELETE /v1/accounts/:id/external_accounts/:ba',
  'transfer.created': 'POST /v1/transfers',
  'transfer.updated': 'POST /v1/transfers/:id (with previous_attributes)',
  'transfer.reversed': 'POST /v1/transfers/:id/reversals, partial or full',
  'application_fee.created': 'the capture of a destination charge with application_fee_amount',
  'application_fee.refunded': 'POST /v1/application_fees/:id/refunds, or a refund of its charge with refund_application_fee',
  'account.updated': 'POST /v1/accounts/:id when something changed (with previous_attributes)',
  'test_helpers.test_clock.created': 'POST /v1/test_helpers/test_clocks',
  'test_helpers.test_clock.advancing': 'POST /v1/test_helpers/test_clocks/:id/advance',
  'test_helpers.test_clock.ready':
    'POST /v1/test_helpers/test_clocks/:id/advance, once every renewal, invoice and payment due up to the new frozen time has run',
  'test_helpers.test_clock.internal_failure': 'an advance whose billing work kept failing: the clock gives up, its objects stay as they were',
  'test_helpers.test_clock.deleted': 'DELETE /v1/test_helpers/test_clocks/:id',
  'product.created': 'POST /v1/products; POST /v1/prices with product_data',
  'product.updated': 'POST /v1/products/:id',
  'product.deleted': 'DELETE /v1/products/:id',
  'price.created': 'POST /v1/prices; POST /v1/products with default_price_data',
  'price.updated': 'POST /v1/prices/:id; a price whose lookup_key another price took (transfer_lookup_key)',
  'invoice.created': 'POST /v1/invoices; a subscription’s invoice',
  'invoice.updated': 'POST /v1/invoices/:id; an invoice item added to, changed on or deleted from a draft',
  'invoice.deleted': 'DELETE /v1/invoices/:id (drafts only)',
  'invoice.finalized': 'POST /v1/invoices/:id/finalize; paying a draft; a subscription’s invoice',
  'invoice.paid': 'a successful invoice payment, pay with paid_out_of_band, or finalizing an invoice with nothing due',
  'invoice.payment_succeeded': 'a successful invoice payment (charged, or nothing due)',
  'invoice.payment_failed': 'an invoice payment attempt that is declined',
  'invoice.voided': 'POST /v1/invoices/:id/void',
  'invoice.marked_uncollectible': 'POST /v1/invoices/:id/mark_uncollectible',
  'invoiceitem.created': 'POST /v1/invoiceitems',
  'invoiceitem.deleted': 'DELETE /v1/invoiceitems/:id',
  'customer.subscription.created': 'POST /v1/subscriptions',
  'customer.subscription.updated':
    'POST /v1/subscriptions/:id and /v1/subscription_items; a status change by an invoice payment, a renewal, the end of a trial or of dunning',
  'customer.subscription.deleted': 'DELETE /v1/subscriptions/:id; the end of a period with cancel_at_period_end or cancel_at; dunning that cancels',
} as const satisfies Partial<Record<StripeEventType, string>>;

/**
 * Payrail's own event types, for operators rather than integrations. They go through the outbox like
 * every event (consumers and the bus carry them), but are not Stripe's: the webhook consumer
 * subscribes to EVENT_TYPES only, and /v1/events never shows them. docs/events.md lists them apart.
 */
export const PAYRAIL_EVENT_TYPES = {
  'reconciliation.exception.created': "a reconciliation run that finds a difference between a processor's settlement report and Payrail's books",
} as const;

export const PAYRAIL_EVENT_TYPE_NAMES: readonly string[] = Object.keys(PAYRAIL_EVENT_TYPES);

export type EventType = keyof typeof EVENT_TYPES;

export const EVENT_TYPE_NAMES: readonly EventType[] = Object.keys(EVENT_TYPES) as EventType[];

export type StripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

const STRIPE_EVENT_TYPE_SET: ReadonlySet<string> = new Set(STRIPE_EVENT_TYPES);

/** A type an endpoint may enable: any of Stripe's, whether Payrail emits it yet or not. */
export function isStripeEventType(value: string): value is StripeEventType {
  return STRIPE_EVENT_TYPE_SET.has(value);
}

import type { PaymentIntent } from '../domain/intent.js';
import type { Charge, Outcome, Refund } from '../domain/charge.js';
import type { Customer } from '../domain/customer.js';
import type { CardOptions } from '../domain/details.js';
import { DEFAULT_CARD_OPTIONS, calculatedStatementDescriptor } from '../domain/details.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import { chargeBalanceTransactionId, refundBalanceTransactionId } from '../../ledger/index.js';
import { renderLegacyCard } from './token-render.js';
import { derivedObjectId, destinationObjectIds } from '../domain/destination.js';

/**
 * Stripe-shaped objects, built field by field from the domain types: the response is an allowlist,
 * so an internal field (merchant_id, version) can never leak. Fields Payrail has no value for are null.
 */
type Json = { id: string } & Record<string, unknown>;

export function renderIntent(intent: PaymentIntent): Json {
  return {
    id: intent.id,
    object: 'payment_intent',
    amount: intent.amount,
    amount_capturable: intent.amount_capturable,
    amount_details: { tip: {} },
    amount_received: intent.amount_received,
    application: null,
    application_fee_amount: intent.application_fee_amount ?? null,
    automatic_payment_methods: intent.automatic_payment_methods ?? null,
    canceled_at: intent.canceled_at,
    cancellation_reason: intent.cancellation_reason,
    capture_method: intent.capture_method,
    client_secret: intent.client_secret,
    confirmation_method: intent.confirmation_method,
    created: intent.created,
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    invoice: intent.invoice ?? null,
    last_payment_error: intent.last_payment_error ? renderPaymentError(intent.last_payment_error) : null,
    latest_charge: intent.latest_charge,
    livemode: false,
    metadata: intent.metadata,
    next_action: intent.next_action,
    on_behalf_of: null,
    payment_method: intent.payment_method,
    payment_method_options: { card: renderCardOptions(intent.payment_method_options?.card ?? DEFAULT_CARD_OPTIONS) },
    payment_method_types: intent.payment_method_types ?? ['card'],
    processing: null,
    receipt_email: intent.receipt_email,
    review: intent.review ?? null,
    setup_future_usage: intent.setup_future_usage,
    shipping: intent.shipping ?? null,
    source: null,
    statement_descriptor: intent.statement_descriptor,
    statement_descriptor_suffix: intent.statement_descriptor_suffix,
    status: intent.status,
    // The intent's transfer_data shows `amount` only once set, as Stripe's does.
    transfer_data: intent.transfer_data
      ? { destination: intent.transfer_data.destination, ...(intent.transfer_data.amount !== null ? { amount: intent.transfer_data.amount } : {}) }
      : null,
    transfer_group: intent.transfer_group ?? null,
  };
}

/** Stripe shows a card option only once it is set. */
function renderCardOptions(options: CardOptions): Record<string, unknown> {
  return {
    installments: null,
    mandate_options: null,
    network: null,
    request_three_d_secure: options.request_three_d_secure,
    ...(options.capture_method ? { capture_method: options.capture_method } : {}),
    ...(options.setup_future_usage ? { setup_future_usage: options.setup_future_usage } : {}),
  };
}

function renderPaymentError(error: NonNullable<PaymentIntent['last_payment_error']>): Record<string, unknown> {
  return {
    type: error.type,
    code: error.code,
    // Stripe leaves out what an error does not have; the schema has no null for these.
    ...(error.decline_code !== null ? { decline_code: error.decline_code } : {}),
    message: error.message,
    ...(error.charge !== null ? { charge: error.charge } : {}),
    doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll('_', '-')}`,
    // Stripe embeds the whole PaymentMethod; an error recorded without its snapshot leaves it out.
    ...(error.payment_method ? { payment_method: renderPaymentMethod(error.payment_method) } : {}),
  };
}

export function renderCharge(charge: Charge, refunds: { data: Refund[]; has_more: boolean } | null = null): Json {
  const made = destinationObjectIds(charge);
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: charge.amount_captured,
    amount_refunded: charge.amount_refunded,
    application: null,
    application_fee: made.application_fee,
    application_fee_amount: charge.application_fee_amount ?? null,
    // Known before the ledger posts it (derived from the charge), as Stripe shows it at once.
    balance_transaction: charge.captured && charge.amount_captured > 0 ? chargeBalanceTransactionId(charge) : null,
    billing_details: charge.billing_details ?? { address: null, email: null, name: null, phone: null },
    calculated_statement_descriptor: calculatedStatementDescriptor(charge.statement_descriptor ?? null, charge.statement_descriptor_suffix ?? null),
    captured: charge.captured,
    created: charge.created,
    currency: charge.currency,
    customer: charge.customer,
    description: charge.description,
    disputed: charge.disputed === true,
    failure_balance_transaction: null,
    failure_code: charge.failure_code,
    failure_message: charge.failure_message,
    fraud_details: charge.fraud_details ?? {},
    invoice: null,
    livemode: false,
    metadata: charge.metadata,
    on_behalf_of: null,
    outcome: renderOutcome(charge.outcome),
    paid: charge.status === 'succeeded',
    // A legacy Charges API charge shows no PaymentIntent: the one behind it is internal.
    payment_intent: charge.charges_api ? null : charge.payment_intent,
    payment_method: charge.payment_method,
    payment_method_details: { type: 'card', card: renderChargeCard(charge.card) },
    radar_options: {},
    receipt_email: charge.receipt_email,
    receipt_number: null,
    receipt_url: null,
    // Fully refunded: nothing captured is left to refund (a partial capture refunds at most what was captured).
    refunded: charge.captured && charge.amount_captured > 0 && charge.amount_refunded === charge.amount_captured,
    refunds: refunds ? { object: 'list', data: refunds.data.map(renderRefund), has_more: refunds.has_more, url: `/v1/charges/${charge.id}/refunds` } : null,
    review: charge.review ?? null,
    shipping: charge.shipping ?? null,
    source: legacySource(charge),
    source_transfer: null,
    statement_descriptor: charge.statement_descriptor ?? null,
    statement_descriptor_suffix: charge.statement_descriptor_suffix ?? null,
    status: charge.status,
    // Not nullable in Stripe's schema: a charge that made no transfer has none.
    ...(made.transfer ? { transfer: made.transfer } : {}),
    transfer_data: charge.transfer_data ? { amount: charge.transfer_data.amount, destination: charge.transfer_data.destination } : null,
    transfer_group: charge.transfer_group ?? null,
    // Payrail's own: which connector accounts the attempt tried. Not Stripe's, so the SDKs ignore it.
    ...(charge.routing ? { payrail_routing: { tries: charge.routing.tries.map((entry) => ({ ...entry })) } } : {}),
  };
}

/** A legacy charge paid with a token shows the token's card as its `source`, as Stripe does. */
function legacySource(charge: Charge): Json | null {
  const card_id = charge.charges_api?.source_card;
  if (!card_id) return null;
  return renderLegacyCard(card_id, charge.card, charge.billing_details ?? { address: null, email: null, name: null, phone: null }, charge.card.cvc_check);
}

/** `payment_method_details.card`: the card as recorded with the attempt, with the processor's CVC check. */
function renderChargeCard(card: Charge['card']): Record<string, unknown> {
  return {
    brand: card.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: card.cvc_check },
    country: card.country,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    fingerprint: card.fingerprint,
    funding: card.funding,
    installments: null,
    last4: card.last4,
    mandate: null,
    network: card.brand,
    network_token: { used: false },
    three_d_secure: null,
    wallet: null,
  };
}

export function renderRefund(refund: Refund): Json {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    balance_transaction: refund.status === 'failed' ? null : refundBalanceTransactionId(refund),
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    metadata: refund.metadata,
    payment_intent: refund.charges_api ? null : refund.payment_intent,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: refund.status,
    transfer_reversal: refund.status !== 'failed' && refund.connect?.transfer_reversal ? derivedObjectId('trr', refund.id) : null,
  };
}

export function renderCustomer(customer: Customer): Json {
  return {
    id: customer.id,
    object: 'customer',
    address: customer.address ?? null,
    balance: customer.balance ?? 0,
    cash_balance: null,
    created: customer.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: customer.description,
    discount: null,
    email: customer.email,
    invoice_prefix: customer.invoice_prefix,
    invoice_settings: { ...(customer.invoice_settings ?? { custom_fields: null, default_payment_method: null, footer: null }), rendering_options: null },
    livemode: false,
    metadata: customer.metadata,
    name: customer.name,
    next_invoice_sequence: customer.next_invoice_sequence ?? 1,
    phone: customer.phone,
    preferred_locales: customer.preferred_locales ?? [],
    shipping: customer.shipping ?? null,
    tax_exempt: customer.tax_exempt ?? 'none',
    test_clock: customer.test_clock ?? null,
  };
}

export function renderPaymentMethod(method: PaymentMethodRecord): Json {
  return {
    id: method.id,
    object: 'payment_method',
    billing_details: method.billing_details,
    card: {
      brand: method.card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'unchecked' },
      country: method.card.country,
      exp_month: method.card.exp_month,
      exp_year: method.card.exp_year,
      fingerprint: method.card.fingerprint,
      funding: method.card.funding,
      generated_from: null,
      last4: method.card.last4,
      networks: { available: [method.card.brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: method.created,
    customer: method.customer,
    livemode: false,
    metadata: method.metadata,
    type: 'card',
  };
}

/**
 * Stripe's `charge.outcome`: the rule that decided as its id (`expand[]=outcome.rule` gives the rule
 * object), no `rule` when none did, and no `risk_score` when the evaluation failed.
 */
function renderOutcome(outcome: Outcome): Record<string, unknown> {
  const { network_status, reason, risk_level, seller_message, type, risk_score, rule } = outcome;
  return { network_status, reason, risk_level, seller_message, type, ...(risk_score === null ? {} : { risk_score }), ...(rule ? { rule: rule.id } : {}) };
}

import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { RiskDecision } from '../../risk/index.js';
import type { AutomaticPaymentMethods, CardOptions, Shipping } from './details.js';
import type { ChargeConversion } from './conversion.js';
import type { DestinationTerms } from './destination.js';

/** Stripe's PaymentIntent statuses; `processing` is kept for asynchronous processors. */
export type IntentStatus =
  'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'succeeded' | 'canceled';

export type CaptureMethod = 'automatic' | 'automatic_async' | 'manual';
export type CancellationReason = 'duplicate' | 'fraudulent' | 'requested_by_customer' | 'abandoned' | 'failed_invoice' | 'void_invoice' | 'automatic';

export interface PaymentError {
  type: 'card_error' | 'invalid_request_error';
  code: string;
  decline_code: string | null;
  message: string;
  charge: string | null;
  payment_method_id: string | null;
  /** The payment method as it was when the attempt failed: Stripe's error embeds the whole object. */
  payment_method?: PaymentMethodRecord | null;
}

export interface NextAction {
  type: 'redirect_to_url';
  redirect_to_url: { url: string; return_url: string | null };
}

export interface PaymentIntent extends DestinationTerms {
  id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  status: IntentStatus;
  capture_method: CaptureMethod;
  confirmation_method: 'automatic' | 'manual';
  customer: string | null;
  payment_method: string | null;
  amount_capturable: number;
  amount_received: number;
  latest_charge: string | null;
  description: string | null;
  metadata: Record<string, string>;
  last_payment_error: PaymentError | null;
  next_action: NextAction | null;
  cancellation_reason: CancellationReason | null;
  canceled_at: number | null;
  receipt_email: string | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
  setup_future_usage: 'off_session' | 'on_session' | null;
  return_url: string | null;
  client_secret: string;
  // Absent on intents stored before they existed; render reads them with their defaults.
  automatic_payment_methods?: AutomaticPaymentMethods | null;
  payment_method_types?: string[];
  payment_method_options?: { card: CardOptions };
  shipping?: Shipping | null;
  /**
   * Set by the confirm that started the attempt, never rendered: the customer is not there to take a
   * 3-D Secure step, so one fails the attempt with `authentication_required` instead.
   */
  error_on_requires_action?: boolean;
  off_session?: boolean;
  /** The billing invoice this intent pays (Stripe's `invoice`); set only by the billing service's use case. */
  invoice?: string | null;
  /**
   * Set on the intent behind a charge made with the legacy Charges API (`POST /v1/charges`): internal
   * and never shown, it gives that charge the payment path every charge takes. Its responses and
   * events are the charge's; `source_card` is the `card_…` id its token's card renders with.
   */
  charges_api?: LegacyOrigin;
  /** The quote its charge converts with, when its currency is not the merchant's settlement currency (app/conversion.ts). */
  fx?: ChargeConversion;
  /**
   * The charge id of the attempt in flight: at the processor (`processing`) or waiting for 3-D Secure
   * (`requires_action`). Internal, never rendered.
   */
  pending_attempt: string | null;
  /**
   * The risk decision for the attempt in flight, made before the processor heard of it: whoever
   * records the processor's answer (the request, its retry, the sweeper) applies it. Internal.
   */
  pending_risk?: RiskDecision | null;
  /** The Radar review of its latest charge, if one was opened (Stripe's `payment_intent.review`). */
  review?: string | null;
  /**
   * A payment placed in review, its review still open: authorized and not captured until the review is
   * approved. An automatic-capture intent is `processing` meanwhile (approval captures it); a
   * manual-capture one `requires_capture`, refusing capture until approval. Canceling it closes the
   * review. Internal.
   */
  held_for_review?: boolean;
  created: number;
  /** Bumped on every change; the database refuses a write based on a stale version. */
  version: number;
}

export const CONFIRMABLE: readonly IntentStatus[] = ['requires_payment_method', 'requires_confirmation'];
/**
 * Not `processing` while the processor holds the attempt: it can be canceled once its answer is
 * recorded. A `processing` intent held for review can be canceled (`cancelable`).
 */
const CANCELABLE: readonly IntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture'];
const ATTEMPT_IN_FLIGHT: readonly IntentStatus[] = ['requires_action', 'processing'];
const UPDATABLE: readonly IntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

export function unexpectedState(intent: PaymentIntent, action: string): PayrailError {
  return new PayrailError('payment_intent_unexpected_state', {
    message: `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
  });
}

/** Invariants every stored intent must satisfy; checked on write and on read. */
export function checkIntent(intent: PaymentIntent): PaymentIntent {
  assert(Number.isSafeInteger(intent.amount) && intent.amount >= 0, `intent ${intent.id}: amount must be a non-negative integer`);
  assert(intent.amount_received >= 0 && intent.amount_received <= intent.amount, `intent ${intent.id}: amount_received out of range`);
  assert(intent.amount_capturable >= 0 && intent.amount_capturable <= intent.amount, `intent ${intent.id}: amount_capturable out of range`);
  assert(intent.status === 'requires_capture' || intent.amount_capturable === 0, `intent ${intent.id}: only requires_capture holds a capturable amount`);
  assert(intent.status !== 'succeeded' || intent.latest_charge !== null, `intent ${intent.id}: succeeded without a charge`);
  assert((intent.status === 'requires_action') === (intent.next_action !== null), `intent ${intent.id}: next_action only in requires_action`);
  const held = intent.held_for_review === true;
  assert(!held || (['processing', 'requires_capture'].includes(intent.status) && intent.review), `intent ${intent.id}: held for review without a review`);
  assert(
    ATTEMPT_IN_FLIGHT.includes(intent.status) === (intent.pending_attempt !== null || (held && intent.status === 'processing')),
    `intent ${intent.id}: a pending attempt only in requires_action or processing`,
  );
  assert(intent.pending_attempt === null || !held, `intent ${intent.id}: held for review with an attempt in flight`);
  return intent;
}

/** A card attempt's result, as the payments service records it on the intent. */
export type AttemptResult =
  /** `review`: the attempt was placed in review; `hold` keeps an automatic-capture payment uncaptured until approval. */
  | { outcome: 'authorized'; captured: boolean; charge_id: string; review?: { id: string; hold: boolean } | undefined }
  | { outcome: 'declined'; charge_id: string; error: PaymentError }
  /** The customer failed 3-D Secure: the card was never charged, so there is no charge. */
  | { outcome: 'authentication_failed'; error: PaymentError }
  | { outcome: 'requires_action'; charge_id: string; next_action: NextAction };

export function applyAttempt(intent: PaymentIntent, result: AttemptResult): PaymentIntent {
  if (result.outcome === 'requires_action') {
    return {
      ...intent,
      status: 'requires_action',
      next_action: result.next_action,
      pending_attempt: result.charge_id,
      last_payment_error: null,
      version: intent.version + 1,
    };
  }
  if (result.outcome === 'authentication_failed') {
    return {
      ...intent,
      status: 'requires_payment_method',
      payment_method: null,
      last_payment_error: result.error,
      next_action: null,
      pending_attempt: null,
      version: intent.version + 1,
    };
  }
  const base = { ...intent, latest_charge: result.charge_id, pending_attempt: null, pending_risk: null, version: intent.version + 1 };
  switch (result.outcome) {
    case 'authorized':
      if (result.review) {
        const reviewed = { ...base, review: result.review.id, held_for_review: true, last_payment_error: null, next_action: null };
        return result.review.hold
          ? { ...reviewed, status: 'processing', amount_capturable: 0 }
          : { ...reviewed, status: 'requires_capture', amount_capturable: intent.amount };
      }
      return result.captured
        ? { ...base, status: 'succeeded', amount_received: intent.amount, amount_capturable: 0, last_payment_error: null, next_action: null }
        : { ...base, status: 'requires_capture', amount_capturable: intent.amount, last_payment_error: null, next_action: null };
    case 'declined':
      return { ...base, status: 'requires_payment_method', payment_method: null, last_payment_error: result.error, next_action: null };
  }
}

export function beginConfirm(intent: PaymentIntent, payment_method: string | null): PaymentIntent {
  if (!CONFIRMABLE.includes(intent.status)) throw unexpectedState(intent, 'confirm');
  const chosen = payment_method ?? intent.payment_method;
  if (!chosen) {
    throw new PayrailError('payment_intent_unexpected_state', {
      param: 'payment_method',
      message: 'You cannot confirm this PaymentIntent because it’s missing a payment method.',
    });
  }
  return { ...intent, payment_method: chosen };
}

/**
 * The attempt is recorded before the processor hears of it: the intent is `processing` until its
 * answer, and keeps the risk decision made for it.
 */
export function beginAttempt(intent: PaymentIntent, charge_id: string, risk: RiskDecision): PaymentIntent {
  assert(
    CONFIRMABLE.includes(intent.status) && intent.payment_method !== null,
    `intent ${intent.id}: an attempt needs a confirmable intent with a payment method`,
  );
  return {
    ...intent,
    status: 'processing',
    pending_attempt: charge_id,
    pending_risk: risk,
    review: null,
    last_payment_error: null,
    next_action: null,
    version: intent.version + 1,
  };
}

/** Whether a card attempt captures at once: neither the intent nor its card options ask for a separate capture. */
export function capturesAutomatically(intent: PaymentIntent): boolean {
  return intent.capture_method !== 'manual' && intent.payment_method_options?.card.capture_method !== 'manual';
}

/**
 * The review of a held payment is approved: an automatic-capture intent succeeds with what the
 * processor captured; a manual-capture one may now be captured.
 */
export function approveReview(intent: PaymentIntent, amount_captured: number | null): PaymentIntent {
  assert(intent.held_for_review === true, `intent ${intent.id}: no payment held for review`);
  const approved = { ...intent, held_for_review: false, version: intent.version + 1 };
  if (intent.status === 'requires_capture') return approved;
  assert(amount_captured !== null && amount_captured > 0, `intent ${intent.id}: approving a held automatic capture needs the amount captured`);
  return { ...approved, status: 'succeeded', amount_received: amount_captured, amount_capturable: 0 };
}

/** A version bump that changes nothing else: taken before a processor call, it turns a racing change away. */
export function claim(intent: PaymentIntent): PaymentIntent {
  return { ...intent, version: intent.version + 1 };
}

export function capture(intent: PaymentIntent, amount_to_capture: number | undefined): { intent: PaymentIntent; amount: number } {
  if (intent.status !== 'requires_capture') throw unexpectedState(intent, 'capture');
  if (intent.held_for_review) {
    throw new PayrailError('payment_intent_unexpected_state', {
      message: `You cannot capture this PaymentIntent while its payment is in review (${intent.review ?? ''}): approve the review first.`,
    });
  }
  const amount = amount_to_capture ?? intent.amount_capturable;
  if (amount > intent.amount_capturable) {
    throw new PayrailError('amount_too_large', {
      param: 'amount_to_capture',
      message: `The amount_to_capture (${amount}) is greater than the amount capturable (${intent.amount_capturable}).`,
    });
  }
  return {
    amount,
    intent: { ...intent, status: 'succeeded', amount_received: amount, amount_capturable: 0, version: intent.version + 1 },
  };
}

export function cancel(intent: PaymentIntent, reason: CancellationReason | null, now_s: number): PaymentIntent {
  if (!CANCELABLE.includes(intent.status) && !intent.held_for_review) throw unexpectedState(intent, 'cancel');
  return {
    ...intent,
    held_for_review: false,
    status: 'canceled',
    cancellation_reason: reason,
    canceled_at: now_s,
    amount_capturable: 0,
    next_action: null,
    pending_attempt: null,
    version: intent.version + 1,
  };
}

export interface IntentChanges {
  amount?: number;
  currency?: string;
  customer?: string | null;
  payment_method?: string | null;
  description?: string | null;
  metadata?: Record<string, string | null> | null;
  receipt_email?: string | null;
  statement_descriptor?: string | null;
  statement_descriptor_suffix?: string | null;
  setup_future_usage?: 'off_session' | 'on_session' | null;
  capture_method?: CaptureMethod;
  shipping?: Shipping | null;
  payment_method_options?: { card: CardOptions };
  payment_method_types?: string[];
}

const UPDATABLE_FIELDS = [
  'amount',
  'currency',
  'customer',
  'payment_method',
  'description',
  'receipt_email',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'setup_future_usage',
  'capture_method',
  'shipping',
  'payment_method_options',
  'payment_method_types',
] as const satisfies ReadonlyArray<keyof IntentChanges>;

/** What the processor holds for an attempt waiting for 3-D Secure: changing them would split the books from it. */
const HELD_BY_PENDING_ATTEMPT = ['amount', 'currency', 'payment_method', 'capture_method', 'payment_method_options'] as const satisfies ReadonlyArray<
  keyof IntentChanges
>;

export function update(intent: PaymentIntent, changes: IntentChanges): PaymentIntent {
  if (!UPDATABLE.includes(intent.status)) throw unexpectedState(intent, 'update');
  const held = intent.status === 'requires_action' ? HELD_BY_PENDING_ATTEMPT.find((field) => changes[field] !== undefined) : undefined;
  if (held) {
    throw new PayrailError('payment_intent_unexpected_state', {
      param: held,
      message: `You cannot change ${held} while this PaymentIntent waits for 3-D Secure; cancel it, or complete the authentication first.`,
    });
  }
  const { metadata } = changes;
  // Only the intent's own fields: a request's other parameters (`expand`) must not land in its state.
  const fields = Object.fromEntries(UPDATABLE_FIELDS.map((key) => [key, changes[key]])) as Omit<IntentChanges, 'metadata'>;
  const next: PaymentIntent = { ...intent, ...definedOnly(fields), version: intent.version + 1 };
  if (metadata !== undefined) next.metadata = mergeMetadata(intent.metadata, metadata);
  if (changes.payment_method !== undefined && intent.status === 'requires_payment_method' && changes.payment_method) {
    next.status = 'requires_confirmation';
  }
  return next;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What a charge made with the legacy Charges API keeps of its origin. */
export interface LegacyOrigin {
  source_card: string | null;
}

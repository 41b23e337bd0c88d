/**
 * The stripe connector's pure half: Payrail's port calls turned into Stripe API requests (form
 * parameters, the processor-side Idempotency-Key) and Stripe's answers and errors turned back into the
 * port's results. No I/O here, so every mapping is tested from recorded wire examples
 * (test/unit/stripe-connector-wire.test.ts). Shapes follow Stripe's API, version 2023-08-16.
 */
import type { AttemptStatus, AuthorizeRequest, AuthorizeResult, CaptureResult, DeclineCode, RefundResult, VerifyRequest } from './port.js';

/** The Stripe API version the connector speaks, sent as `Stripe-Version` on every call. */
export const STRIPE_API_VERSION = '2023-08-16';

/** The metadata keys the connector writes on the processor's objects, to find them again by Payrail's ids. */
export const ATTEMPT_METADATA_KEY = 'payrail_attempt';
export const REFUND_METADATA_KEY = 'payrail_refund';

export type FormParams = [name: string, value: string][];

/** One processor-side Idempotency-Key per Payrail id and operation: a resend replays, never repeats. */
export function idempotencyKey(operation: 'authorize' | 'verify' | 'capture' | 'cancel' | 'refund', payrail_id: string): string {
  return `payrail-${operation}-${payrail_id}`;
}

function cardParams(prefix: string, card: AuthorizeRequest['card']): FormParams {
  const params: FormParams = [
    [`${prefix}[type]`, 'card'],
    [`${prefix}[card][number]`, card.number],
    [`${prefix}[card][exp_month]`, String(card.exp_month)],
    [`${prefix}[card][exp_year]`, String(card.exp_year)],
  ];
  if (card.cvc !== undefined) params.push([`${prefix}[card][cvc]`, card.cvc]);
  return params;
}

/**
 * A PaymentIntent created and confirmed in one call, with the raw card as `payment_method_data`
 * (Stripe accepts raw card numbers only from accounts with raw card data access; docs/connectors.md).
 * `payment_method_types[]=card` keeps 2023-08-16's automatic payment methods (and their return_url) out.
 */
export function authorizeParams(request: AuthorizeRequest): FormParams {
  const params: FormParams = [
    ['amount', String(request.amount)],
    ['currency', request.currency],
    ['confirm', 'true'],
    ['capture_method', request.capture ? 'automatic' : 'manual'],
    ['payment_method_types[0]', 'card'],
    ...cardParams('payment_method_data', request.card),
    [`metadata[${ATTEMPT_METADATA_KEY}]`, request.attempt_id],
    ['expand[0]', 'latest_charge'],
  ];
  if (request.off_session) params.push(['off_session', 'true']);
  if (request.three_d_secure) params.push(['payment_method_options[card][request_three_d_secure]', 'any']);
  return params;
}

/** A card verification is a SetupIntent created and confirmed at once: Stripe checks the card and moves no money. */
export function verifyParams(request: VerifyRequest): FormParams {
  return [
    ['confirm', 'true'],
    ['payment_method_types[0]', 'card'],
    ['usage', 'off_session'],
    ...cardParams('payment_method_data', request.card),
    [`metadata[${ATTEMPT_METADATA_KEY}]`, request.attempt_id],
  ];
}

export function captureParams(amount: number): FormParams {
  return [
    ['amount_to_capture', String(amount)],
    ['expand[0]', 'latest_charge'],
  ];
}

export function refundParams(refund_id: string, attempt_id: string, processor_intent: string, amount: number): FormParams {
  return [
    ['payment_intent', processor_intent],
    ['amount', String(amount)],
    [`metadata[${REFUND_METADATA_KEY}]`, refund_id],
    [`metadata[${ATTEMPT_METADATA_KEY}]`, attempt_id],
  ];
}

/** Stripe's search query for the PaymentIntent made for one attempt (ids hold no quote, so no escaping is needed). */
export function attemptSearchQuery(attempt_id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(attempt_id)) throw new Error(`attempt id ${attempt_id} is not an id`);
  return `metadata['${ATTEMPT_METADATA_KEY}']:'${attempt_id}'`;
}

// ----- Stripe's answers -----

/** The fields of Stripe's objects the connector reads; everything else is ignored. */
export interface StripeCharge {
  id: string;
  object: 'charge';
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  metadata?: Record<string, string>;
  refunds?: { data: StripeRefund[] } | null;
  payment_method_details?: { card?: { checks?: { cvc_check?: string | null } | null } | null } | null;
}

export interface StripeLastError {
  type?: string;
  code?: string;
  decline_code?: string;
  message?: string;
}

export interface StripePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'canceled' | 'succeeded';
  metadata: Record<string, string>;
  latest_charge: string | StripeCharge | null;
  last_payment_error: StripeLastError | null;
}

export interface StripeSetupIntent {
  id: string;
  object: 'setup_intent';
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'canceled' | 'succeeded';
  metadata: Record<string, string>;
  last_setup_error: StripeLastError | null;
}

export interface StripeRefund {
  id: string;
  object: 'refund';
  amount: number;
  status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled' | null;
  failure_reason?: string | null;
  metadata: Record<string, string> | null;
}

/** Stripe's error body: `{ error: { type, code, decline_code, message, param, … } }`. */
export interface StripeErrorBody {
  error: StripeLastError & { param?: string; payment_intent?: StripePaymentIntent; setup_intent?: StripeSetupIntent };
}

const DECLINE_CODES: readonly DeclineCode[] = ['card_declined', 'expired_card', 'incorrect_cvc', 'processing_error', 'authentication_required'];

/**
 * A card error (Stripe's `card_error`, or a PaymentIntent's `last_payment_error`) as a decline:
 * Stripe's `code` where the port knows it (any other card code, `incorrect_number` say, is a
 * `card_declined`), its `decline_code` (the code itself when Stripe sends none), and the raw code kept.
 */
export function declineOf(error: StripeLastError): Extract<AuthorizeResult, { outcome: 'declined' }> {
  const stripe_code = error.code ?? 'card_declined';
  const code = (DECLINE_CODES as readonly string[]).includes(stripe_code) ? (stripe_code as DeclineCode) : 'card_declined';
  return {
    outcome: 'declined',
    code,
    decline_code: error.decline_code ?? stripe_code,
    message: error.message ?? 'Your card was declined.',
    cvc_check: stripe_code === 'incorrect_cvc' ? 'fail' : 'unchecked',
    raw_code: error.decline_code ?? stripe_code,
  };
}

function chargeOf(intent: StripePaymentIntent): StripeCharge | null {
  return typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
}

function cvcCheckOf(intent: StripePaymentIntent): 'pass' | 'unchecked' {
  return chargeOf(intent)?.payment_method_details?.card?.checks?.cvc_check === 'pass' ? 'pass' : 'unchecked';
}

const CANCELED_UNAUTHORIZED = 'The payment was canceled before it was authorized.';

function wasAuthorized(intent: StripePaymentIntent): boolean {
  const charge = chargeOf(intent);
  return charge ? charge.status === 'succeeded' : intent.latest_charge !== null;
}

/** What a PaymentIntent's state says of the authorization; null while Stripe has not decided (`processing`). */
export function intentResult(intent: StripePaymentIntent): AuthorizeResult | null {
  switch (intent.status) {
    case 'succeeded':
      return { outcome: 'authorized', captured: true, cvc_check: cvcCheckOf(intent) };
    case 'requires_capture':
      return { outcome: 'authorized', captured: false, cvc_check: cvcCheckOf(intent) };
    case 'requires_action':
      return { outcome: 'requires_action' };
    case 'canceled':
      // Canceled after an authorization (a void) or before one (a 3-D Secure step abandoned).
      return wasAuthorized(intent)
        ? { outcome: 'authorized', captured: false, cvc_check: cvcCheckOf(intent) }
        : declineOf({ code: 'card_declined', decline_code: 'authentication_required', message: CANCELED_UNAUTHORIZED });
    case 'requires_payment_method':
      return declineOf(intent.last_payment_error ?? { code: 'card_declined', decline_code: 'generic_decline' });
    case 'processing':
    case 'requires_confirmation':
      return null;
  }
}

export function setupResult(setup: StripeSetupIntent): AuthorizeResult | null {
  switch (setup.status) {
    case 'succeeded':
      return { outcome: 'authorized', captured: false, cvc_check: 'pass' };
    case 'requires_action':
      return { outcome: 'requires_action' };
    case 'requires_payment_method':
    case 'canceled':
      return declineOf(setup.last_setup_error ?? { code: 'card_declined', decline_code: 'generic_decline' });
    case 'processing':
    case 'requires_confirmation':
      return null;
  }
}

/** The processor's record of an attempt, for a status inquiry; `unknown` while Stripe is still deciding. */
export function intentStatus(intent: StripePaymentIntent): AttemptStatus {
  const result = intentResult(intent);
  if (result === null) return { found: 'unknown' };
  const charge = chargeOf(intent);
  return {
    found: true,
    result,
    amount_captured: charge?.amount_captured ?? intent.amount_received,
    amount_refunded: charge?.amount_refunded ?? 0,
    voided: intent.status === 'canceled' && result.outcome === 'authorized',
  };
}

export function setupStatus(setup: StripeSetupIntent): AttemptStatus {
  const result = setupResult(setup);
  if (result === null) return { found: 'unknown' };
  return { found: true, result, amount_captured: 0, amount_refunded: 0, voided: false };
}

export function captureResult(intent: StripePaymentIntent): CaptureResult {
  if (intent.status !== 'succeeded') return { outcome: 'failed', message: `The processor's PaymentIntent is ${intent.status}, not captured.` };
  return { outcome: 'captured', amount_captured: chargeOf(intent)?.amount_captured ?? intent.amount_received };
}

/**
 * A refund's state as the port's result. `pending` counts as succeeded, as card refunds on Stripe
 * are final once accepted (a later failure arrives as `charge.refund.updated`).
 */
export function refundResult(refund: StripeRefund): RefundResult {
  if (refund.status === 'failed' || refund.status === 'canceled') {
    return { outcome: 'failed', message: `The processor's refund ${refund.status}: ${refund.failure_reason ?? 'unknown'}.` };
  }
  return { outcome: 'succeeded' };
}

/**
 * The Adyen connector's pure half: Payrail's port calls as Adyen Checkout v71 request bodies, and
 * Adyen's answers (HTTP status + parsed body) as the port's results. No I/O: the transport
 * (adapters/adyen-transport.ts) sends what these build and hands back what came, and the unit tests
 * feed them recorded wire examples.
 */
import { createHash } from 'node:crypto';
import type { AuthorizeRequest, AuthorizeResult } from './port.js';
import type { StripeDecline } from './adyen-refusals.js';
import { PROCESSING_ERROR, stripeDeclineFor } from './adyen-refusals.js';
import type { AdyenAmount, AdyenPaymentRequest, AdyenPaymentResponse } from './adyen-wire.js';
import { ADYEN_IDEMPOTENCY_KEY_MAX, modificationResponseSchema, paymentResponseSchema, serviceErrorSchema } from './adyen-wire.js';

/**
 * Set on every payment so the AUTHORISATION notification (which echoes `metadata.*` in its
 * additionalData) says whether the payment was captured with it: a notification alone settles an
 * attempt whose answer was lost.
 */
export const CAPTURE_METADATA_KEY = 'payrail_capture';

/** Why a call has no answer the port can use. */
export type CallFailure =
  /** Adyen certainly did not process it (refused the credentials, no such endpoint, rate limited). */
  | { kind: 'not_processed'; reason: string }
  /** It may have been processed: a 5xx, an unreadable answer, the same key still in progress. */
  | { kind: 'unknown'; reason: string };

export type AuthorizeAnswer = { kind: 'result'; result: AuthorizeResult; psp_reference: string | null; authorisation_token: string | null } | CallFailure;

export type ModificationAnswer = { kind: 'received'; psp_reference: string } | { kind: 'refused'; error_code: string; message: string } | CallFailure;

export function adyenAmount(amount: number, currency: string): AdyenAmount {
  return { value: amount, currency: currency.toUpperCase() };
}

/** AuthorizeRequest -> POST /payments. Manual capture is Adyen's `additionalData.manualCapture`. */
export function paymentRequestBody(request: AuthorizeRequest, merchant_account: string): AdyenPaymentRequest {
  const { card } = request;
  const off_session = request.off_session === true;
  return {
    merchantAccount: merchant_account,
    reference: request.attempt_id,
    amount: adyenAmount(request.amount, request.currency),
    paymentMethod: {
      type: 'scheme',
      number: card.number,
      expiryMonth: String(card.exp_month).padStart(2, '0'),
      expiryYear: String(card.exp_year),
      ...(card.cvc === undefined ? {} : { cvc: card.cvc }),
    },
    shopperInteraction: off_session ? 'ContAuth' : 'Ecommerce',
    ...(off_session ? { recurringProcessingModel: 'UnscheduledCardOnFile' as const } : {}),
    ...(request.capture ? { captureDelayHours: 0 } : { additionalData: { manualCapture: 'true' } }),
    ...(request.three_d_secure === true && !off_session ? { authenticationData: { attemptAuthentication: 'always' as const } } : {}),
    metadata: { [CAPTURE_METADATA_KEY]: String(request.capture) },
  };
}

/** Adyen's cvcResult ("1 Matches", "2 Does not match", …) as Stripe's cvc_check. */
export function cvcCheckOf(additional_data: Record<string, string> | undefined): 'pass' | 'fail' | 'unchecked' {
  const code = additional_data?.['cvcResult']?.trim().split(' ')[0];
  if (code === '1') return 'pass';
  if (code === '2') return 'fail';
  return 'unchecked';
}

function declinedResult(decline: StripeDecline, raw_code: string | undefined, cvc_check: 'pass' | 'fail' | 'unchecked'): AuthorizeResult {
  return { outcome: 'declined', ...decline, cvc_check: decline.code === 'incorrect_cvc' ? 'fail' : cvc_check, ...(raw_code === undefined ? {} : { raw_code }) };
}

const ACTION_RESULT_CODES = new Set(['RedirectShopper', 'IdentifyShopper', 'ChallengeShopper', 'PresentToShopper']);

/** A parsed /payments (or /payments/details) answer as the port's result; Received/Pending and the like are not final. */
export function paymentResult(response: AdyenPaymentResponse, capture_requested: boolean): AuthorizeAnswer {
  const psp_reference = response.pspReference ?? null;
  const cvc_check = cvcCheckOf(response.additionalData);
  const answer = (result: AuthorizeResult): AuthorizeAnswer => ({
    kind: 'result',
    result,
    psp_reference,
    authorisation_token: response.action?.authorisationToken ?? null,
  });
  switch (response.resultCode) {
    case 'Authorised':
      return answer({ outcome: 'authorized', captured: capture_requested, cvc_check: cvc_check === 'pass' ? 'pass' : 'unchecked' });
    case 'Refused':
      return answer(
        declinedResult(stripeDeclineFor(response.refusalReasonCode, response.additionalData?.['refusalReasonRaw']), response.refusalReasonCode, cvc_check),
      );
    case 'Error':
      return answer(declinedResult(PROCESSING_ERROR, response.refusalReasonCode ?? 'Error', cvc_check));
    case 'Cancelled':
      return answer(declinedResult(stripeDeclineFor('15', undefined), response.refusalReasonCode ?? 'Cancelled', cvc_check));
    default:
      if (ACTION_RESULT_CODES.has(response.resultCode)) return answer({ outcome: 'requires_action' });
      // Received, Pending, PartiallyAuthorised (never asked for): the outcome is still Adyen's to tell.
      return { kind: 'unknown', reason: `Adyen answered resultCode ${response.resultCode}` };
  }
}

/** Validation errors Stripe has a card word for; any other refused request is a processing error. */
const VALIDATION_DECLINES: ReadonlyMap<string, StripeDecline> = new Map([
  ['101', { code: 'card_declined', decline_code: 'incorrect_number', message: 'Your card number is incorrect.' }],
  ['103', { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', message: "Your card's security code is incorrect." }],
]);

/** Adyen's "request already processed or in progress": another call with this key has not finished. */
const IN_PROGRESS_ERROR_CODE = '704';

/** A non-2xx answer: what Adyen's status and error body say about whether anything happened. */
export function errorAnswer(status: number, body: unknown): { kind: 'refused'; error_code: string; message: string } | CallFailure {
  const error = serviceErrorSchema.safeParse(body);
  const code = error.success ? error.data.errorCode : 'unparsed';
  const message = error.success ? error.data.message : `HTTP ${status}`;
  if (status >= 500) return { kind: 'unknown', reason: `Adyen answered ${status} (${code})` };
  if (status === 401 || status === 403 || status === 404 || status === 429)
    return { kind: 'not_processed', reason: `Adyen refused the request: ${status} ${code} ${message}` };
  if ((status === 400 || status === 422) && code !== IN_PROGRESS_ERROR_CODE) return { kind: 'refused', error_code: code, message };
  return { kind: 'unknown', reason: `Adyen answered ${status} (${code})` };
}

/** POST /payments or /payments/details: HTTP status and parsed JSON body (null when unreadable). */
export function authorizeAnswer(status: number, body: unknown, capture_requested: boolean): AuthorizeAnswer {
  if (status !== 200) {
    const failure = errorAnswer(status, body);
    if (failure.kind !== 'refused') return failure;
    const decline = VALIDATION_DECLINES.get(failure.error_code) ?? PROCESSING_ERROR;
    return { kind: 'result', result: declinedResult(decline, failure.error_code, 'unchecked'), psp_reference: null, authorisation_token: null };
  }
  const parsed = paymentResponseSchema.safeParse(body);
  if (!parsed.success) return { kind: 'unknown', reason: 'Adyen answered 200 with a body that is not a payment response' };
  return paymentResult(parsed.data, capture_requested);
}

/** POST /payments/{pspReference}/captures|refunds|cancels and /cancels: Adyen answers 201 "received". */
export function modificationAnswer(status: number, body: unknown): ModificationAnswer {
  if (status !== 201) return errorAnswer(status, body);
  const parsed = modificationResponseSchema.safeParse(body);
  if (!parsed.success) return { kind: 'unknown', reason: 'Adyen answered 201 with a body that is not a modification response' };
  return { kind: 'received', psp_reference: parsed.data.pspReference };
}

/** The 3-D Secure result the customer's device hands back, for POST /payments/details (native 3DS2). */
export function threeDsDetailsBody(authorisation_token: string, authenticated: boolean): { details: { threeDSResult: string } } {
  const result = { transStatus: authenticated ? 'Y' : 'N', authorisationToken: authorisation_token };
  return { details: { threeDSResult: Buffer.from(JSON.stringify(result), 'utf8').toString('base64') } };
}

/**
 * Idempotency keys derive from Payrail's own ids, so a retry from any process is the same request to
 * Adyen. A reference too long for Adyen's 64 characters is replaced by its SHA-256 (still one key per id).
 */
export function idempotencyKey(operation: 'authorise' | 'details' | 'capture' | 'cancel' | 'technical-cancel' | 'refund', reference: string): string {
  const key = `payrail-${operation}-${reference}`;
  if (key.length <= ADYEN_IDEMPOTENCY_KEY_MAX) return key;
  return `payrail-${operation}-${createHash('sha256').update(reference).digest('base64url').slice(0, 32)}`;
}

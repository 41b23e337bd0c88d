/**
 * The bounded sets metric label values come from. A label that could take any value (an id, a
 * caller's string) would grow the series without limit, so anything outside these sets is `other`.
 */

/**
 * succeeded: authorized (captured or not); declined: the issuer (or 3-D Secure) said no; blocked: risk
 * rules stopped it before the processor; failed: no answer (processor error, timeout, crash in between);
 * requires_action: 3-D Secure started (its completion is counted again as one of the others).
 */
export type PaymentOutcome = 'succeeded' | 'declined' | 'blocked' | 'failed' | 'requires_action' | 'processing';

/**
 * Why a JetStream consumer's position stopped matching its stream: re-created (new creation time),
 * truncated (sequence numbers reused), gap (events it had not applied are not in the stream).
 */
export const NATS_DISCONTINUITY_REASONS = ['recreated', 'truncated', 'gap'] as const;
export type NatsDiscontinuityReason = (typeof NATS_DISCONTINUITY_REASONS)[number];

/** Stripe's documented decline codes, plus Payrail's own for blocks and failed 3-D Secure. Others become `other`. */
const DECLINE_CODES: ReadonlySet<string> = new Set([
  'authentication_required',
  'approve_with_id',
  'call_issuer',
  'card_not_supported',
  'card_velocity_exceeded',
  'currency_not_supported',
  'do_not_honor',
  'do_not_try_again',
  'duplicate_transaction',
  'expired_card',
  'fraudulent',
  'generic_decline',
  'incorrect_number',
  'incorrect_cvc',
  'incorrect_pin',
  'incorrect_zip',
  'insufficient_funds',
  'invalid_account',
  'invalid_amount',
  'invalid_cvc',
  'invalid_expiry_month',
  'invalid_expiry_year',
  'invalid_number',
  'invalid_pin',
  'issuer_not_available',
  'lost_card',
  'merchant_blacklist',
  'new_account_information_available',
  'no_action_taken',
  'not_permitted',
  'offline_pin_required',
  'online_or_offline_pin_required',
  'pickup_card',
  'pin_try_exceeded',
  'processing_error',
  'reenter_transaction',
  'restricted_card',
  'revocation_of_all_authorizations',
  'revocation_of_authorization',
  'security_violation',
  'service_not_allowed',
  'stolen_card',
  'stop_payment_order',
  'testmode_decline',
  'transaction_not_allowed',
  'try_again_later',
  'withdrawal_count_exceeded',
  'authentication_failure',
]);

/** Error codes are from the registry, but a label must stay bounded even if a caller passes anything. */
const ERROR_CODE_PATTERN = /^[a-z_]{1,64}$/;

/** The decline code label: a known decline code for declines, `other` for an unknown one, empty otherwise. */
export function declineCodeLabel(outcome: PaymentOutcome, decline_code: string | null | undefined): string {
  if (outcome !== 'declined') return '';
  return decline_code && DECLINE_CODES.has(decline_code) ? decline_code : 'other';
}

export function errorCodeLabel(code: string): string {
  return ERROR_CODE_PATTERN.test(code) ? code : 'other';
}

/**
 * Adyen's refusal reasons (docs.adyen.com, "Refusal reasons": `refusalReasonCode` with its
 * `refusalReason` text) in Stripe's decline vocabulary. The raw code is always kept beside the
 * mapping (`raw_code`), so a merchant can read what Adyen said even where Stripe has no exact word.
 * Soft declines (worth another processor) are the ones Stripe also calls retryable:
 * `processing_error`, `issuer_not_available`, `try_again_later`.
 */
import type { DeclineCode } from './port.js';

export interface StripeDecline {
  code: DeclineCode;
  decline_code: string;
  message: string;
}

const DECLINED = 'Your card was declined.';
const PROCESSING = 'An error occurred while processing your card. Try again in a little bit.';

const declined = (decline_code: string, message = DECLINED): StripeDecline => ({ code: 'card_declined', decline_code, message });

/** By Adyen's refusalReasonCode; the text is Adyen's refusalReason for that code. */
export const ADYEN_REFUSALS: ReadonlyMap<string, { reason: string; decline: StripeDecline }> = new Map([
  ['2', { reason: 'Refused', decline: declined('generic_decline') }],
  ['3', { reason: 'Referral', decline: declined('call_issuer') }],
  ['4', { reason: 'Acquirer Error', decline: { code: 'processing_error', decline_code: 'processing_error', message: PROCESSING } }],
  ['5', { reason: 'Blocked Card', decline: declined('pickup_card') }],
  ['6', { reason: 'Expired Card', decline: { code: 'expired_card', decline_code: 'expired_card', message: 'Your card has expired.' } }],
  ['7', { reason: 'Invalid Amount', decline: declined('invalid_amount') }],
  ['8', { reason: 'Invalid Card Number', decline: declined('incorrect_number', 'Your card number is incorrect.') }],
  ['9', { reason: 'Issuer Unavailable', decline: declined('issuer_not_available') }],
  ['10', { reason: 'Not supported', decline: declined('card_not_supported') }],
  ['11', { reason: '3D Not Authenticated', decline: declined('authentication_required', 'Your card was declined. This transaction requires authentication.') }],
  ['12', { reason: 'Not enough balance', decline: declined('insufficient_funds', 'Your card has insufficient funds.') }],
  ['14', { reason: 'Acquirer Fraud', decline: declined('fraudulent') }],
  ['15', { reason: 'Cancelled', decline: declined('generic_decline') }],
  ['16', { reason: 'Shopper Cancelled', decline: declined('generic_decline') }],
  ['17', { reason: 'Invalid Pin', decline: declined('incorrect_pin') }],
  ['18', { reason: 'Pin tries exceeded', decline: declined('pin_try_exceeded') }],
  ['20', { reason: 'FRAUD', decline: declined('fraudulent') }],
  ['22', { reason: 'FRAUD-CANCELLED', decline: declined('fraudulent') }],
  ['23', { reason: 'Transaction Not Permitted', decline: declined('transaction_not_allowed') }],
  ['24', { reason: 'CVC Declined', decline: { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', message: "Your card's security code is incorrect." } }],
  ['25', { reason: 'Restricted Card', decline: declined('restricted_card') }],
  ['26', { reason: 'Revocation Of Auth', decline: declined('revocation_of_authorization') }],
  ['27', { reason: 'Declined Non Generic', decline: declined('do_not_honor') }],
  ['28', { reason: 'Withdrawal amount exceeded', decline: declined('card_velocity_exceeded') }],
  ['29', { reason: 'Withdrawal count exceeded', decline: declined('withdrawal_count_limit_exceeded') }],
  ['31', { reason: 'Issuer Suspected Fraud', decline: declined('fraudulent') }],
  ['32', { reason: 'AVS Declined', decline: declined('incorrect_zip') }],
  [
    '38',
    {
      reason: 'Authentication required',
      decline: {
        code: 'authentication_required',
        decline_code: 'authentication_required',
        message: 'Your card was declined. This transaction requires authentication.',
      },
    },
  ],
  ['46', { reason: 'Transaction blocked by Adyen to prevent excessive retry fees', decline: declined('try_again_later') }],
]);

const BY_REASON: ReadonlyMap<string, string> = new Map([...ADYEN_REFUSALS].map(([code, { reason }]) => [reason.toLowerCase(), code]));

/**
 * Raw scheme answers (ISO 8583 response codes at the start of Adyen's `refusalReasonRaw`, e.g.
 * `41 : LOST CARD`) that say more than Adyen's category: a lost or stolen card is refused by Adyen as
 * a blocked card, which Stripe tells apart.
 */
const BY_SCHEME_CODE: ReadonlyMap<string, StripeDecline> = new Map([
  ['41', declined('lost_card')],
  ['43', declined('stolen_card')],
]);

/** Adyen's code for a refusal reason text (as a notification's `reason` carries it), or null. */
export function refusalCodeOf(reason: string): string | null {
  return BY_REASON.get(reason.trim().toLowerCase()) ?? null;
}

/** Stripe's words for an Adyen refusal; an unknown code is a generic decline, never a soft one. */
export function stripeDeclineFor(refusal_code: string | undefined, refusal_raw: string | undefined): StripeDecline {
  const scheme_code = /^\s*(\d{2})\b/.exec(refusal_raw ?? '')?.[1];
  const refined = scheme_code === undefined ? undefined : BY_SCHEME_CODE.get(scheme_code);
  if (refined) return refined;
  return ADYEN_REFUSALS.get(refusal_code ?? '')?.decline ?? declined('generic_decline');
}

/** An Adyen `Error` result: the payment was not processed, as Stripe's `processing_error`. */
export const PROCESSING_ERROR: StripeDecline = { code: 'processing_error', decline_code: 'processing_error', message: PROCESSING };

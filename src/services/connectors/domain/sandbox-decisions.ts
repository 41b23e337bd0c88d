/**
 * What the sandbox processor answers, as Stripe's test mode does: the card number picks the outcome,
 * so Stripe's documented test cards work unchanged. Pure: the sandbox reads and writes its records;
 * these functions only decide, from the request or from the record.
 */
import { assert } from '../../../kernel/assert.js';
import { luhnValid } from '../../../kernel/luhn.js';
import type { AuthorizeRequest, AuthorizeResult, CaptureResult, DeclineCode, FundsAvailability, RefundResult } from './port.js';

export type CvcCheck = 'pass' | 'fail' | 'unchecked';

/** The sandbox's record of one attempt. Deliberately holds no card data. */
export interface AttemptRecord {
  merchant_id: string;
  amount: number;
  currency: string;
  capture_requested: boolean;
  cvc_check: CvcCheck;
  /** What a repeated authorize returns. */
  result: AuthorizeResult;
  amount_captured: number;
  amount_refunded: number;
  voided: boolean;
  /** The card's funds availability, decided with the attempt so a later 3-D Secure approval keeps it. */
  funds: FundsAvailability | null;
}

/** The part of a record a decision sets: the answer, and the money it captured at once. */
export interface Decision {
  result: AuthorizeResult;
  amount_captured: number;
}

interface Decline {
  code: DeclineCode;
  decline_code: string;
  message: string;
}

const CARD_DECLINED_MESSAGE = 'Your card was declined.';

/** Stripe's declining test cards. Lost and stolen cards get the generic message, as Stripe does. */
const DECLINES: ReadonlyMap<string, Decline> = new Map([
  ['4000000000000002', { code: 'card_declined', decline_code: 'generic_decline', message: CARD_DECLINED_MESSAGE }],
  ['4000000000009995', { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }],
  ['4000000000009987', { code: 'card_declined', decline_code: 'lost_card', message: CARD_DECLINED_MESSAGE }],
  ['4000000000009979', { code: 'card_declined', decline_code: 'stolen_card', message: CARD_DECLINED_MESSAGE }],
  ['4000000000000069', { code: 'expired_card', decline_code: 'expired_card', message: 'Your card has expired.' }],
  ['4000000000000127', { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', message: "Your card's security code is incorrect." }],
  [
    '4000000000000119',
    { code: 'processing_error', decline_code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  ],
] satisfies Array<[string, Decline]>);

const INCORRECT_CVC_CARD = '4000000000000127';

/**
 * Stripe's card that "attaching to a Customer object succeeds, but attempts to charge the customer
 * fail" (https://docs.stripe.com/testing, `pm_card_chargeCustomerFail`): a zero-amount verification
 * (a SetupIntent) passes, every charge declines. It lets dunning be exercised end to end.
 */
const CHARGE_CUSTOMER_FAIL_CARD = '4000000000000341';
const CHARGE_CUSTOMER_FAIL: Decline = { code: 'card_declined', decline_code: 'generic_decline', message: CARD_DECLINED_MESSAGE };

/**
 * Stripe's card whose charge "succeeds and funds will be added directly to your available balance
 * (bypassing your pending balance)" (https://docs.stripe.com/testing, `pm_card_bypassPending`).
 */
const BYPASS_PENDING_CARD = '4000000000000077';

/** Whether the card's captured funds skip the settlement delay. Reads the number, keeps only the answer. */
export function fundsFor(number: string): FundsAvailability | null {
  return number === BYPASS_PENDING_CARD ? 'immediate' : null;
}

/**
 * Stripe's cards that ask for 3-D Secure on every payment the customer is present for, and what they
 * do off session (the customer absent): `always` declines, `unless_set_up` accepts a card set up by an
 * earlier authenticated attempt, `set_up` behaves as if it had been.
 */
type OffSessionRule = 'always' | 'unless_set_up' | 'set_up';
const THREE_D_SECURE_CARDS: ReadonlyMap<string, OffSessionRule> = new Map([
  ['4000002760003184', 'always'],
  ['4000002500003155', 'unless_set_up'],
  ['4000000000003220', 'always'],
  ['4000003800000446', 'set_up'],
] satisfies Array<[string, OffSessionRule]>);

/** The vault rejects bad numbers first; this only guards direct callers. */
const INCORRECT_NUMBER: Decline = { code: 'card_declined', decline_code: 'incorrect_number', message: 'Your card number is incorrect.' };
/** Off session a card that asks for authentication cannot get it: Stripe's `authentication_required`. */
const OFF_SESSION_AUTHENTICATION_REQUIRED: Decline = {
  code: 'authentication_required',
  decline_code: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};
const AUTHENTICATION_FAILED: Decline = {
  code: 'card_declined',
  decline_code: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};

/**
 * The only place the card number is read; nothing derived from it is kept beyond the outcome.
 * `set_up`: the request names an earlier authorized attempt of this processor as its stored credential.
 */
export function decide(request: AuthorizeRequest, set_up = false): Decision & { cvc_check: CvcCheck } {
  const { number, cvc } = request.card;
  const cvc_check: CvcCheck = cvc === undefined ? 'unchecked' : number === INCORRECT_CVC_CARD ? 'fail' : 'pass';
  const terms = { amount: request.amount, capture_requested: request.capture, cvc_check, funds: fundsFor(number) };
  const charge_fails = number === CHARGE_CUSTOMER_FAIL_CARD && request.amount > 0;
  const decline = !luhnValid(number) ? INCORRECT_NUMBER : charge_fails ? CHARGE_CUSTOMER_FAIL : DECLINES.get(number);
  if (decline) return { ...declined(decline, cvc_check), cvc_check };
  const rule = THREE_D_SECURE_CARDS.get(number);
  if ((rule || request.three_d_secure) && !request.off_session) return { result: { outcome: 'requires_action' }, amount_captured: 0, cvc_check };
  if (rule === 'always' || (rule === 'unless_set_up' && !set_up)) return { ...declined(OFF_SESSION_AUTHENTICATION_REQUIRED, cvc_check), cvc_check };
  return { ...approve(terms), cvc_check };
}

/** The outcome of the customer's 3-D Secure step on an attempt that requires action. */
export function authenticate(record: AttemptRecord, authenticated: boolean): Decision {
  assert(record.result.outcome === 'requires_action', 'only an attempt that requires action can be authenticated');
  return authenticated ? approve(record) : declined(AUTHENTICATION_FAILED, record.cvc_check);
}

/** Why a capture moved no money, or the first capture's answer when it is a repeat. */
export function captureRefusal(record: AttemptRecord | undefined): CaptureResult {
  if (!record || record.result.outcome !== 'authorized') return failed('No authorization exists for this attempt.');
  // A capture retried after it succeeded returns the first answer and moves no more money.
  if (record.capture_requested) return failed('The charge was captured when it was authorized.');
  if (record.amount_captured > 0) return { outcome: 'captured', amount_captured: record.amount_captured };
  if (record.voided) return failed('The authorization was voided.');
  return failed(`The capture amount must be between 1 and the authorized amount (${record.amount}).`);
}

/** Why a refund moved no money. */
export function refundRefusal(record: AttemptRecord | undefined): RefundResult & { outcome: 'failed' } {
  if (!record || record.amount_captured === 0) return failed('The charge has not been captured.');
  const refundable = record.amount_captured - record.amount_refunded;
  return failed(`The refund amount must be between 1 and the unrefunded amount (${refundable}).`);
}

/** Whole minor units, at least one: the only amounts a capture or refund can move. */
export function isMovableAmount(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount >= 1;
}

/** Approves the attempt, capturing it at once when the request asked for automatic capture. */
function approve(terms: { amount: number; capture_requested: boolean; cvc_check: CvcCheck; funds: FundsAvailability | null }): Decision {
  assert(terms.cvc_check !== 'fail', 'an approved card cannot have failed its cvc check');
  const funds = terms.funds ? { funds: terms.funds } : {};
  return {
    result: { outcome: 'authorized', captured: terms.capture_requested, cvc_check: terms.cvc_check, ...funds },
    amount_captured: terms.capture_requested ? terms.amount : 0,
  };
}

function declined(decline: Decline, cvc_check: CvcCheck): Decision {
  return { result: { outcome: 'declined', ...decline, cvc_check }, amount_captured: 0 };
}

function failed(message: string): { outcome: 'failed'; message: string } {
  return { outcome: 'failed', message };
}

/**
 * What the sandbox raises once an attempt's money is captured (Stripe's dispute test cards): a dispute
 * (an inquiry asks before a chargeback: no money moves until it escalates), or only an issuer's early
 * fraud warning.
 */
export type SandboxDispute = { reason: string; inquiry: boolean } | { fraud_warning: string };

/**
 * Stripe's dispute test cards (https://docs.stripe.com/testing#disputes): the charge succeeds, then the
 * cardholder disputes it (or the issuer warns of fraud). Stripe names no reason for the inquiry card;
 * `general` is its catch-all; nor a fraud type for the warning card: `made_with_stolen_card`.
 */
const DISPUTE_CARDS: ReadonlyMap<string, SandboxDispute> = new Map([
  ['4000000000000259', { reason: 'fraudulent', inquiry: false }],
  ['4000000000002685', { reason: 'product_not_received', inquiry: false }],
  ['4000000000001976', { reason: 'general', inquiry: true }],
  // The issuer reports fraud ahead of any chargeback (Stripe's `radar.early_fraud_warning`).
  ['4000000000005423', { fraud_warning: 'made_with_stolen_card' }],
] satisfies Array<[string, SandboxDispute]>);

/** The dispute a card will draw once captured, if it is one of Stripe's dispute cards. Reads the number, keeps only the outcome. */
export function disputeFor(number: string): SandboxDispute | null {
  return DISPUTE_CARDS.get(number) ?? null;
}

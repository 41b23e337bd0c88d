/**
 * Card validation as Stripe does it, before a card is stored or sent to a processor. Pure: the caller
 * passes the current month so expiry checks are testable. Errors carry Stripe's codes and params and
 * only the registry's generic messages, so a card number or CVC can never leak into a response or log.
 */
import { PayrailError } from '../../../kernel/errors.js';
import { luhnValid } from '../../../kernel/luhn.js';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'diners' | 'jcb' | 'unionpay' | 'unknown';

export interface ValidCard {
  /** Digits only. */
  number: string;
  exp_month: number;
  /** Four digits. */
  exp_year: number;
  cvc: string | undefined;
  brand: CardBrand;
  last4: string;
  funding: 'credit';
  country: 'US';
}

export interface CardInput {
  number: unknown;
  exp_month: unknown;
  exp_year: unknown;
  cvc?: unknown;
}

export interface YearMonth {
  year: number;
  month: number;
}

const MIN_NUMBER_DIGITS = 12;
const MAX_NUMBER_DIGITS = 19;
/** Stripe rejects expiry years more than this far ahead. */
const MAX_EXPIRY_YEARS_AHEAD = 50;
const TWO_DIGIT_YEAR_BASE = 2000;
/** Long enough for any plausible integer field; anything longer is garbage, not a number. */
const MAX_INTEGER_STRING_DIGITS = 9;
const CVC_DIGITS = 3;
const AMEX_CVC_DIGITS = 4;

/** Inclusive prefix ranges; `from` and `to` have the same length. */
interface BrandRange {
  brand: Exclude<CardBrand, 'unknown'>;
  from: string;
  to: string;
}

const BRAND_RANGES: readonly BrandRange[] = [
  { brand: 'visa', from: '4', to: '4' },
  { brand: 'mastercard', from: '51', to: '55' },
  { brand: 'mastercard', from: '2221', to: '2720' },
  { brand: 'amex', from: '34', to: '34' },
  { brand: 'amex', from: '37', to: '37' },
  { brand: 'discover', from: '6011', to: '6011' },
  { brand: 'discover', from: '644', to: '649' },
  { brand: 'discover', from: '65', to: '65' },
  { brand: 'diners', from: '300', to: '305' },
  { brand: 'diners', from: '309', to: '309' },
  { brand: 'diners', from: '36', to: '36' },
  { brand: 'diners', from: '38', to: '39' },
  { brand: 'jcb', from: '3528', to: '3589' },
  { brand: 'unionpay', from: '62', to: '62' },
  { brand: 'unionpay', from: '81', to: '81' },
];

export function detectBrand(number: string): CardBrand {
  const match = BRAND_RANGES.find(({ from, to }) => {
    const prefix = number.slice(0, from.length);
    // Same-length digit strings compare in numeric order.
    return prefix.length === from.length && prefix >= from && prefix <= to;
  });
  return match?.brand ?? 'unknown';
}

export function validateCard(input: CardInput, now: YearMonth): ValidCard {
  const number = validNumber(input.number);
  const exp_month = validExpiryMonth(input.exp_month);
  const exp_year = validExpiryYear(input.exp_year, now);
  if (exp_year === now.year && exp_month < now.month) {
    throw new PayrailError('invalid_expiry_month', { param: 'card[exp_month]' });
  }
  const brand = detectBrand(number);
  return {
    number,
    exp_month,
    exp_year,
    cvc: validCvc(input.cvc, brand),
    brand,
    last4: number.slice(-4),
    funding: 'credit',
    country: 'US',
  };
}

function validNumber(value: unknown): string {
  const param = 'card[number]';
  if (isMissing(value)) throw new PayrailError('parameter_missing', { param });
  const text = digitText(value);
  const digits = text?.replace(/[\s-]/g, '');
  if (digits === undefined || !/^\d+$/.test(digits) || digits.length < MIN_NUMBER_DIGITS || digits.length > MAX_NUMBER_DIGITS) {
    throw new PayrailError('invalid_number', { param });
  }
  if (!luhnValid(digits)) throw new PayrailError('incorrect_number', { param });
  return digits;
}

function validExpiryMonth(value: unknown): number {
  const param = 'card[exp_month]';
  if (isMissing(value)) throw new PayrailError('parameter_missing', { param });
  const month = parseInteger(value);
  if (month === undefined || month < 1 || month > 12) throw new PayrailError('invalid_expiry_month', { param });
  return month;
}

function validExpiryYear(value: unknown, now: YearMonth): number {
  const param = 'card[exp_year]';
  if (isMissing(value)) throw new PayrailError('parameter_missing', { param });
  const parsed = parseInteger(value);
  if (parsed === undefined) throw new PayrailError('invalid_expiry_year', { param });
  // Cards print two-digit years, and customers type what they see.
  const year = parsed < 100 ? TWO_DIGIT_YEAR_BASE + parsed : parsed;
  if (year < now.year || year > now.year + MAX_EXPIRY_YEARS_AHEAD) {
    throw new PayrailError('invalid_expiry_year', { param });
  }
  return year;
}

function validCvc(value: unknown, brand: CardBrand): string | undefined {
  if (value === undefined || value === null) return undefined;
  const cvc = digitText(value);
  const expected_digits = brand === 'amex' ? AMEX_CVC_DIGITS : CVC_DIGITS;
  if (cvc === undefined || cvc.length !== expected_digits || !/^\d+$/.test(cvc)) {
    throw new PayrailError('invalid_cvc', { param: 'card[cvc]' });
  }
  return cvc;
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * JSON bodies may send numeric fields as numbers. Only safe integers convert exactly; a larger number
 * has already lost digits in JSON parsing, so it is rejected rather than silently altered.
 */
function digitText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/** Form bodies send "12", JSON sends 12; "12.5", "1e1", " 12" and the like are not integers. */
function parseInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && value.length <= MAX_INTEGER_STRING_DIGITS && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

export interface TestCard {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc: string;
}

const TEST_EXP_MONTH = 12;
const TEST_EXP_YEAR = 2034;
const TEST_CVC = '123';
const TEST_AMEX_CVC = '1234';

function testCard(number: string, cvc = TEST_CVC): TestCard {
  return { number, exp_month: TEST_EXP_MONTH, exp_year: TEST_EXP_YEAR, cvc };
}

/** Stripe's test-mode PaymentMethod ids, so Stripe's docs and SDK examples work unchanged. */
export const TEST_PAYMENT_METHODS: ReadonlyMap<string, TestCard> = new Map([
  ['pm_card_visa', testCard('4242424242424242')],
  ['pm_card_visa_debit', testCard('4000056655665556')],
  ['pm_card_mastercard', testCard('5555555555554444')],
  ['pm_card_mastercard_debit', testCard('5200828282828210')],
  ['pm_card_amex', testCard('378282246310005', TEST_AMEX_CVC)],
  ['pm_card_discover', testCard('6011111111111117')],
  ['pm_card_diners', testCard('3056930009020004')],
  ['pm_card_jcb', testCard('3566002020360505')],
  ['pm_card_unionpay', testCard('6200000000000005')],
  ['pm_card_chargeDeclined', testCard('4000000000000002')],
  ['pm_card_visa_chargeDeclined', testCard('4000000000000002')],
  ['pm_card_visa_chargeDeclinedInsufficientFunds', testCard('4000000000009995')],
  ['pm_card_visa_chargeDeclinedLostCard', testCard('4000000000009987')],
  ['pm_card_visa_chargeDeclinedStolenCard', testCard('4000000000009979')],
  ['pm_card_chargeDeclinedExpiredCard', testCard('4000000000000069')],
  ['pm_card_chargeDeclinedIncorrectCvc', testCard('4000000000000127')],
  ['pm_card_chargeDeclinedProcessingError', testCard('4000000000000119')],
  // Attaches (and sets up) fine; every charge declines (docs/billing.md#customers).
  ['pm_card_chargeCustomerFail', testCard('4000000000000341')],
  // Radar's risk test cards (docs/risk.md): blocked, highest risk, elevated risk.
  ['pm_card_chargeDeclinedFraudulent', testCard('4100000000000019')],
  ['pm_card_riskLevelHighest', testCard('4000000000004954')],
  ['pm_card_riskLevelElevated', testCard('4000000000009235')],
  ['pm_card_authenticationRequired', testCard('4000002760003184')],
  ['pm_card_threeDSecure2Required', testCard('4000002760003184')],
  ['pm_card_authenticationRequiredOnSetup', testCard('4000002500003155')],
  ['pm_card_authenticationRequiredSetupForOffSession', testCard('4000003800000446')],
  // Disputed after capture (the sandbox raises the dispute; docs/disputes.md).
  ['pm_card_createDispute', testCard('4000000000000259')],
  ['pm_card_createDisputeProductNotReceived', testCard('4000000000002685')],
  ['pm_card_createDisputeInquiry', testCard('4000000000001976')],
  ['pm_card_createIssuerFraudRecord', testCard('4000000000005423')],
  // Funds available at once, bypassing the pending balance (docs/payouts.md).
  ['pm_card_bypassPending', testCard('4000000000000077')],
]);

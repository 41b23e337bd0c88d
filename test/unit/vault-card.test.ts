import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PayrailError } from '../../src/kernel/errors.js';
import { luhnValid } from '../../src/kernel/luhn.js';
import { detectBrand, TEST_PAYMENT_METHODS, validateCard, type CardInput } from '../../src/services/vault/domain/card.js';

const NOW = { year: 2026, month: 6 };
const VISA = '4242424242424242';
const GOOD: CardInput = { number: VISA, exp_month: 12, exp_year: 2030, cvc: '123' };

/** Computed independently of `luhnValid`, so the property checks it against a second implementation. */
function luhnCheckDigit(payload: string): string {
  const sum = [...payload]
    .reverse()
    .map(Number)
    .reduce((total, digit, index) => {
      if (index % 2 === 1) return total + digit;
      const doubled = digit * 2;
      return total + (doubled > 9 ? doubled - 9 : doubled);
    }, 0);
  return String((10 - (sum % 10)) % 10);
}

function rejection(input: CardInput): PayrailError {
  try {
    validateCard(input, NOW);
  } catch (error) {
    if (error instanceof PayrailError) return error;
    throw error;
  }
  throw new Error('expected validateCard to throw');
}

describe('luhnValid', () => {
  it.each(['4242424242424242', '5555555555554444', '378282246310005', '6011111111111117', '79927398713'])('accepts %s', (number) => {
    expect(luhnValid(number)).toBe(true);
  });

  it.each(['4242424242424241', '5555555555554445', '79927398710', '1234567812345678'])('rejects %s', (number) => {
    expect(luhnValid(number)).toBe(false);
  });

  it('rejects non-digit and empty strings', () => {
    expect(luhnValid('4242 4242 4242 4242')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('42a2')).toBe(false);
  });

  it('accepts any number with a correct check digit and rejects every single-digit change', () => {
    const digit = fc.integer({ min: 0, max: 9 }).map(String);
    const payload = fc.array(digit, { minLength: 11, maxLength: 18 }).map((digits) => digits.join(''));
    fc.assert(
      fc.property(payload, fc.nat(), fc.integer({ min: 1, max: 9 }), (body, position_seed, shift) => {
        const number = body + luhnCheckDigit(body);
        expect(luhnValid(number)).toBe(true);
        const position = position_seed % number.length;
        const changed = String((Number(number[position]) + shift) % 10);
        const altered = number.slice(0, position) + changed + number.slice(position + 1);
        expect(luhnValid(altered)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('detectBrand', () => {
  it.each([
    ['4242424242424242', 'visa'],
    ['4000056655665556', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['5105105105105100', 'mastercard'],
    ['2221000000000009', 'mastercard'],
    ['2720990000000008', 'mastercard'],
    ['378282246310005', 'amex'],
    ['340000000000009', 'amex'],
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['3056930009020004', 'diners'],
    ['36227206271667', 'diners'],
    ['3566002020360505', 'jcb'],
    ['6200000000000005', 'unionpay'],
    ['2220990000000000', 'unknown'],
    ['2721000000000000', 'unknown'],
    ['5600000000000000', 'unknown'],
    ['3527000000000000', 'unknown'],
    ['9999999999999995', 'unknown'],
  ])('%s is %s', (number, brand) => {
    expect(detectBrand(number)).toBe(brand);
  });
});

describe('validateCard', () => {
  it('returns the normalized card', () => {
    expect(validateCard({ number: '4242 4242-4242 4242', exp_month: '07', exp_year: '2030', cvc: '123' }, NOW)).toEqual({
      number: VISA,
      exp_month: 7,
      exp_year: 2030,
      cvc: '123',
      brand: 'visa',
      last4: '4242',
      funding: 'credit',
      country: 'US',
    });
  });

  it('accepts JSON numbers and form strings alike', () => {
    const fromJson = validateCard({ number: VISA, exp_month: 12, exp_year: 2030 }, NOW);
    const fromForm = validateCard({ number: VISA, exp_month: '12', exp_year: '2030' }, NOW);
    expect(fromJson).toEqual(fromForm);
    expect(fromJson.cvc).toBeUndefined();
  });

  it('reads two-digit years as 20YY', () => {
    expect(validateCard({ ...GOOD, exp_year: 30 }, NOW).exp_year).toBe(2030);
    expect(validateCard({ ...GOOD, exp_year: '26', exp_month: 6 }, NOW).exp_year).toBe(2026);
  });

  it('accepts a card expiring this month and one 50 years ahead', () => {
    expect(validateCard({ ...GOOD, exp_year: 2026, exp_month: 6 }, NOW).exp_month).toBe(6);
    expect(validateCard({ ...GOOD, exp_year: 2076 }, NOW).exp_year).toBe(2076);
  });

  it('requires a four-digit cvc for amex', () => {
    expect(validateCard({ ...GOOD, number: '378282246310005', cvc: '1234' }, NOW).cvc).toBe('1234');
    expect(rejection({ ...GOOD, number: '378282246310005', cvc: '123' }).code).toBe('invalid_cvc');
    expect(rejection({ ...GOOD, cvc: '1234' }).code).toBe('invalid_cvc');
  });

  it.each<[string, CardInput, string, string]>([
    ['missing number', { ...GOOD, number: undefined }, 'parameter_missing', 'card[number]'],
    ['empty number', { ...GOOD, number: '' }, 'parameter_missing', 'card[number]'],
    ['letters in number', { ...GOOD, number: '4242abcd42424242' }, 'invalid_number', 'card[number]'],
    ['11-digit number', { ...GOOD, number: '79927398713' }, 'invalid_number', 'card[number]'],
    ['20-digit number', { ...GOOD, number: '42424242424242424242' }, 'invalid_number', 'card[number]'],
    ['number as an object', { ...GOOD, number: { digits: VISA } }, 'invalid_number', 'card[number]'],
    // eslint-disable-next-line no-loss-of-precision -- a card number past 2^53, as a JSON client might send it, is the case under test.
    ['unsafe JSON number', { ...GOOD, number: 9999999999999999999 }, 'invalid_number', 'card[number]'],
    ['Luhn failure', { ...GOOD, number: '4242424242424241' }, 'incorrect_number', 'card[number]'],
    ['missing month', { ...GOOD, exp_month: undefined }, 'parameter_missing', 'card[exp_month]'],
    ['month 0', { ...GOOD, exp_month: 0 }, 'invalid_expiry_month', 'card[exp_month]'],
    ['month 13', { ...GOOD, exp_month: '13' }, 'invalid_expiry_month', 'card[exp_month]'],
    ['fractional month', { ...GOOD, exp_month: '12.5' }, 'invalid_expiry_month', 'card[exp_month]'],
    ['fractional JSON month', { ...GOOD, exp_month: 1.5 }, 'invalid_expiry_month', 'card[exp_month]'],
    ['month text', { ...GOOD, exp_month: 'abc' }, 'invalid_expiry_month', 'card[exp_month]'],
    ['month with a sign', { ...GOOD, exp_month: '+1' }, 'invalid_expiry_month', 'card[exp_month]'],
    ['missing year', { ...GOOD, exp_year: undefined }, 'parameter_missing', 'card[exp_year]'],
    ['year text', { ...GOOD, exp_year: 'abc' }, 'invalid_expiry_year', 'card[exp_year]'],
    ['fractional year', { ...GOOD, exp_year: '2030.5' }, 'invalid_expiry_year', 'card[exp_year]'],
    ['past year', { ...GOOD, exp_year: 2025 }, 'invalid_expiry_year', 'card[exp_year]'],
    ['past two-digit year', { ...GOOD, exp_year: '25' }, 'invalid_expiry_year', 'card[exp_year]'],
    ['year over 50 ahead', { ...GOOD, exp_year: 2077 }, 'invalid_expiry_year', 'card[exp_year]'],
    ['expired earlier this year', { ...GOOD, exp_year: 2026, exp_month: 5 }, 'invalid_expiry_month', 'card[exp_month]'],
    ['short cvc', { ...GOOD, cvc: '12' }, 'invalid_cvc', 'card[cvc]'],
    ['letters in cvc', { ...GOOD, cvc: '12a' }, 'invalid_cvc', 'card[cvc]'],
    ['empty cvc', { ...GOOD, cvc: '' }, 'invalid_cvc', 'card[cvc]'],
  ])('%s → %s on %s', (_case, input, code, param) => {
    const error = rejection(input);
    expect(error.code).toBe(code);
    expect(error.param).toBe(param);
  });

  it('never puts the card number or cvc in an error message', () => {
    const cvc = '987';
    const errors = [
      rejection({ ...GOOD, number: '4242424242424241', cvc }),
      rejection({ ...GOOD, exp_month: 13, cvc }),
      rejection({ ...GOOD, exp_year: 1999, cvc }),
      rejection({ ...GOOD, cvc: '98' }),
      rejection({ ...GOOD, number: '4242-4242-4242-424x', cvc }),
    ];
    for (const error of errors) {
      const text = `${String(error)} ${JSON.stringify(error)}`;
      expect(text).not.toMatch(/42424242|424x/);
      expect(text).not.toContain(cvc);
      expect(text).not.toMatch(/\b98\b/);
    }
  });
});

describe('TEST_PAYMENT_METHODS', () => {
  it.each([
    ['pm_card_visa', '4242424242424242', 'visa'],
    ['pm_card_mastercard', '5555555555554444', 'mastercard'],
    ['pm_card_amex', '378282246310005', 'amex'],
    ['pm_card_visa_debit', '4000056655665556', 'visa'],
    ['pm_card_chargeDeclined', '4000000000000002', 'visa'],
    ['pm_card_visa_chargeDeclined', '4000000000000002', 'visa'],
    ['pm_card_visa_chargeDeclinedInsufficientFunds', '4000000000009995', 'visa'],
    ['pm_card_visa_chargeDeclinedLostCard', '4000000000009987', 'visa'],
    ['pm_card_visa_chargeDeclinedStolenCard', '4000000000009979', 'visa'],
    ['pm_card_chargeDeclinedExpiredCard', '4000000000000069', 'visa'],
    ['pm_card_chargeDeclinedIncorrectCvc', '4000000000000127', 'visa'],
    ['pm_card_chargeDeclinedProcessingError', '4000000000000119', 'visa'],
    ['pm_card_authenticationRequired', '4000002760003184', 'visa'],
    ['pm_card_threeDSecure2Required', '4000002760003184', 'visa'],
  ])('%s is %s', (id, number, brand) => {
    const card = TEST_PAYMENT_METHODS.get(id);
    expect(card?.number).toBe(number);
    expect(card).toMatchObject({ exp_month: 12, exp_year: 2034 });
    expect(validateCard(card ?? { number: undefined, exp_month: undefined, exp_year: undefined }, NOW).brand).toBe(brand);
  });

  it('every entry passes validation', () => {
    for (const [id, card] of TEST_PAYMENT_METHODS) {
      expect(() => validateCard(card, NOW), id).not.toThrow();
    }
  });
});

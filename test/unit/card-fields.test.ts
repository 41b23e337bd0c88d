import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';

/**
 * The card-field rules the card frame and the hosted Checkout page share (browser/v3/card-fields.js),
 * loaded as the browser loads them: a plain script that sets `window.PayrailCardFields`.
 */

interface Problem {
  code: string;
  message: string;
}
interface CardFields {
  digits(value: string): string;
  brandOf(number: string): string;
  formatNumber(value: string): string;
  formatExpiry(value: string): string;
  numberProblem(value: string): Problem | null;
  expiryProblem(value: string, now?: Date): Problem | null;
  cvcProblem(value: string, number: string): Problem | null;
}

const window: { PayrailCardFields?: CardFields } = {};
runInNewContext(readFileSync('browser/v3/card-fields.js', 'utf8'), { window });
const rules = window.PayrailCardFields!;

function luhnValid(number: string): boolean {
  let sum = 0;
  [...number].reverse().forEach((char, i) => {
    const digit = Number(char) * (i % 2 === 1 ? 2 : 1);
    sum += digit > 9 ? digit - 9 : digit;
  });
  return sum % 10 === 0;
}

describe('card fields', () => {
  it("knows Stripe's test cards' brands and accepts them", () => {
    const cards: [string, string][] = [
      ['4242424242424242', 'visa'],
      ['4000002500003155', 'visa'],
      ['5555555555554444', 'mastercard'],
      ['2223003122003222', 'mastercard'],
      ['378282246310005', 'amex'],
      ['6011111111111117', 'discover'],
      ['3566002020360505', 'jcb'],
    ];
    for (const [number, brand] of cards) {
      expect(rules.brandOf(number)).toBe(brand);
      expect(rules.numberProblem(rules.formatNumber(number))).toBeNull();
    }
    expect(rules.formatNumber('378282246310005')).toBe('3782 822463 10005');
    expect(rules.formatNumber('4242-4242 4242abc4242')).toBe('4242 4242 4242 4242');
  });

  it('accepts a complete 16-digit Visa number exactly when its Luhn check holds', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^4[0-9]{15}$/), (number) => {
        const problem = rules.numberProblem(number);
        expect(problem === null).toBe(luhnValid(number));
        if (problem) expect(problem.code).toBe('invalid_number');
      }),
    );
  });

  it('calls a short number incomplete, and checks expiry and CVC as Stripe.js words them', () => {
    expect(rules.numberProblem('4242 4242')?.code).toBe('incomplete_number');
    expect(rules.numberProblem('')?.code).toBe('incomplete_number');
    const now = new Date(2026, 11, 1);
    expect(rules.formatExpiry('1234')).toBe('12 / 34');
    expect(rules.formatExpiry('9')).toBe('09');
    expect(rules.expiryProblem('12 / 26', now)).toBeNull();
    expect(rules.expiryProblem('11 / 26', now)?.code).toBe('invalid_expiry_year_past');
    expect(rules.expiryProblem('13 / 30', now)?.code).toBe('invalid_expiry_month');
    expect(rules.expiryProblem('12 /', now)?.code).toBe('incomplete_expiry');
    expect(rules.cvcProblem('12', '4242424242424242')?.code).toBe('incomplete_cvc');
    expect(rules.cvcProblem('123', '378282246310005')?.code).toBe('incomplete_cvc');
    expect(rules.cvcProblem('1234', '378282246310005')).toBeNull();
  });
});

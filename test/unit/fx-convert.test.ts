import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { convertAmount, crossRate, divideHalfEven, exactConversion, parseRate, RateFormatError } from '../../src/services/fx/index.js';

/** Exact conversion: integer minor units, exponents per currency, one rounding (half to even). */

const CURRENCIES = ['usd', 'eur', 'jpy', 'krw', 'kwd', 'bhd', 'gbp', 'huf'] as const;

/** A plain decimal rate from 10⁻¹² to 20,000 (IDR per EUR is about 19,000): up to 12 fraction digits. */
const rateArb = fc.tuple(fc.bigInt({ min: 1n, max: 2n * 10n ** 9n }), fc.integer({ min: 5, max: 12 })).map(([digits, scale]) => {
  const text = digits.toString().padStart(scale + 1, '0');
  return scale === 0 ? text : `${text.slice(0, text.length - scale)}.${text.slice(text.length - scale)}`;
});
const amountArb = fc.integer({ min: -99_999_999, max: 99_999_999 });
const currencyArb = fc.constantFrom(...CURRENCIES);

describe('convertAmount', () => {
  it('uses each currency’s exponent', () => {
    expect(convertAmount(100, 'jpy', 'usd', '0.0064')).toBe(64); // ¥100 → $0.64
    expect(convertAmount(1000, 'kwd', 'usd', '3.25')).toBe(325); // 1.000 KWD → $3.25
    expect(convertAmount(100, 'usd', 'kwd', '0.307')).toBe(307); // $1.00 → 0.307 KWD
    expect(convertAmount(1000, 'usd', 'jpy', '156.242989041')).toBe(1562); // $10.00 → ¥1,562.43 → ¥1,562
    expect(convertAmount(5000, 'eur', 'krw', '1703.45')).toBe(85_172); // €50.00 → ₩85,172.5 → the even neighbour
  });

  it('rounds half to even, both signs', () => {
    expect(convertAmount(5, 'eur', 'usd', '0.5')).toBe(2); // 2.5 → 2
    expect(convertAmount(15, 'eur', 'usd', '0.1')).toBe(2); // 1.5 → 2
    expect(convertAmount(35, 'eur', 'usd', '0.1')).toBe(4); // 3.5 → 4
    expect(convertAmount(-5, 'eur', 'usd', '0.5')).toBe(-2);
    expect(convertAmount(-15, 'eur', 'usd', '0.1')).toBe(-2);
    expect(convertAmount(7, 'eur', 'usd', '0.5')).toBe(4); // 3.5 → 4
    expect(convertAmount(249, 'eur', 'usd', '0.01')).toBe(2); // 2.49 → 2
    expect(convertAmount(251, 'eur', 'usd', '0.01')).toBe(3); // 2.51 → 3
  });

  it('refuses malformed rates and amounts rather than guessing', () => {
    for (const rate of ['', '1e3', '-1', '0', '0.000', ' 1', '1.', '.5', '1,5', 'NaN', 'Infinity', '1.5 ']) {
      expect(() => convertAmount(100, 'eur', 'usd', rate), rate).toThrow(RateFormatError);
    }
    expect(() => convertAmount(1.5, 'eur', 'usd', '1.1')).toThrow(RateFormatError);
    expect(() => convertAmount(100, 'eur', 'xyz', '1.1')).toThrow(RateFormatError);
    // Past Number.MAX_SAFE_INTEGER the answer could not be an exact number: refused.
    expect(() => convertAmount(99_999_999, 'kwd', 'idr', '1000000000000')).toThrow(/too large/);
  });

  it('always answers a safe integer, within half a minor unit of the exact value (the ledger legs agree with the rate)', () => {
    fc.assert(
      fc.property(amountArb, currencyArb, currencyArb, rateArb, (amount, from, to, rate) => {
        const converted = convertAmount(amount, from, to, rate);
        expect(Number.isSafeInteger(converted)).toBe(true);
        // The presentment leg is `amount` of `from`, the settlement leg `converted` of `to`; exactly:
        // |converted − amount × rate × 10^(e_to − e_from)| ≤ ½, compared in integers.
        const { numerator, denominator } = exactConversion(amount, from, to, rate);
        const error = BigInt(converted) * denominator - numerator;
        expect(2n * (error < 0n ? -error : error) <= denominator).toBe(true);
        // On an exact tie the result is the even neighbour.
        if (2n * (error < 0n ? -error : error) === denominator) expect(Math.abs(converted) % 2).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('is monotonic in the amount and symmetric in its sign', () => {
    fc.assert(
      fc.property(amountArb, amountArb, currencyArb, currencyArb, rateArb, (a, b, from, to, rate) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(convertAmount(low, from, to, rate)).toBeLessThanOrEqual(convertAmount(high, from, to, rate));
        expect(convertAmount(-a, from, to, rate)).toBe(-convertAmount(a, from, to, rate) || 0);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves an amount unchanged at rate 1 in its own currency', () => {
    fc.assert(
      fc.property(amountArb, currencyArb, (amount, currency) => {
        expect(convertAmount(amount, currency, currency, '1')).toBe(amount);
      }),
    );
  });

  it('splitting an amount moves the total by at most half a minor unit per part', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 10 }),
        currencyArb,
        currencyArb,
        rateArb,
        (parts, from, to, rate) => {
          const whole = convertAmount(
            parts.reduce((sum, part) => sum + part, 0),
            from,
            to,
            rate,
          );
          const summed = parts.reduce((sum, part) => sum + convertAmount(part, from, to, rate), 0);
          // Each of the parts and the whole is off by at most ½: together by at most (n + 1)/2.
          expect(2 * Math.abs(whole - summed)).toBeLessThanOrEqual(parts.length + 1);
        },
      ),
    );
  });
});

describe('divideHalfEven', () => {
  it('matches the definition on small integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000, max: 10_000 }), fc.integer({ min: 1, max: 200 }), (n, d) => {
        const q = Number(divideHalfEven(BigInt(n), BigInt(d)));
        const diff = Math.abs(q * d - n) * 2;
        expect(diff).toBeLessThanOrEqual(d);
        if (diff === d) expect(Math.abs(q) % 2).toBe(0);
        expect(Number(divideHalfEven(BigInt(n), BigInt(-d)))).toBe(-q || 0);
      }),
    );
  });
});

describe('crossRate', () => {
  it('is exact against the euro and rounds other pairs to 12 significant digits', () => {
    expect(crossRate('1', '1.1589')).toBe('1.1589');
    expect(crossRate('1', '181.07')).toBe('181.07');
    expect(crossRate('1', '147.80')).toBe('147.8');
    expect(crossRate('1.1589', '1')).toBe('0.86288722064');
    expect(crossRate('1.1589', '181.07')).toBe('156.242989041');
    expect(crossRate('19321.55', '1')).toBe('0.000051755682127'); // 0.0000517556821269515… (12th digit 0 dropped)
    expect(crossRate('2', '1')).toBe('0.5');
    expect(crossRate('3', '1')).toBe('0.333333333333');
    expect(crossRate('3', '2')).toBe('0.666666666667');
    expect(crossRate('1', '9.9999999999995')).toBe('10'); // rounding carries into one more digit
  });

  it('is within half a unit of its 12th significant digit of the exact quotient', () => {
    fc.assert(
      fc.property(rateArb, rateArb, (from, to) => {
        const cross = parseRate(crossRate(from, to));
        const a = parseRate(from);
        const b = parseRate(to);
        // exact = (b.n / b.d) / (a.n / a.d); compare cross and exact as integers over a common denominator.
        const exact = { numerator: b.numerator * a.denominator, denominator: b.denominator * a.numerator };
        const diff = cross.numerator * exact.denominator - exact.numerator * cross.denominator;
        const magnitude = leadingPower(exact.numerator, exact.denominator);
        // |cross − exact| ≤ ½ × 10^unit, the unit of the 12th significant digit; in integers:
        // 2 × |diff| × 10^(−unit) ≤ denominators (unit < 0), or 2 × |diff| ≤ 10^unit × denominators.
        const twice = 2n * (diff < 0n ? -diff : diff);
        const unit = magnitude - 11;
        const denominators = cross.denominator * exact.denominator;
        const within = unit >= 0 ? twice <= 10n ** BigInt(unit) * denominators : twice * 10n ** BigInt(-unit) <= denominators;
        expect(within).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

/** ⌊log10(n / d)⌋ for positive integers. */
function leadingPower(n: bigint, d: bigint): number {
  let power = 0;
  while (n >= d * 10n) {
    d *= 10n;
    power += 1;
  }
  while (n < d) {
    n *= 10n;
    power -= 1;
  }
  return power;
}

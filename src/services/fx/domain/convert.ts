import { currencyInfo } from '../../../kernel/money.js';

/**
 * Exact currency conversion (docs/currencies.md#rounding). A rate is a decimal string ("1.0832"): the
 * number of units of the target currency one unit of the source buys. Amounts are integer minor units.
 * Every computation is on BigInt rationals; the one rounding is the last step, half to even.
 */

/** A positive plain decimal (cross rates of extreme pairs need many digits); no sign, no exponent. */
const DECIMAL = /^(\d{1,40})(?:\.(\d{1,40}))?$/;

/** Cross rates are rounded to this many significant digits (ECB's own rates have at most six). */
export const CROSS_RATE_SIGNIFICANT_DIGITS = 12;

/** An exact rational: numerator / denominator, denominator > 0. */
export interface Ratio {
  numerator: bigint;
  denominator: bigint;
}

export class RateFormatError extends Error {
  override name = 'RateFormatError';
}

/** `rate` as an exact ratio; refuses anything that is not a positive plain decimal. */
export function parseRate(rate: string): Ratio {
  const match = DECIMAL.exec(rate);
  if (!match) throw new RateFormatError(`rate "${rate}" is not a plain positive decimal`);
  const fraction = match[2] ?? '';
  const numerator = BigInt(match[1]! + fraction);
  if (numerator === 0n) throw new RateFormatError(`rate "${rate}" is zero`);
  return { numerator, denominator: 10n ** BigInt(fraction.length) };
}

/** Whether `rate` is a rate this module accepts (the ECB parser checks each one it reads). */
export function isValidRate(rate: string): boolean {
  try {
    parseRate(rate);
    return true;
  } catch {
    return false;
  }
}

/** numerator / denominator rounded to the nearest integer, ties to the even one. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator < 0n) return divideHalfEven(-numerator, -denominator);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator - quotient * denominator;
  if (remainder === 0n) return quotient;
  const direction = remainder > 0n ? 1n : -1n;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  if (twice > denominator || (twice === denominator && quotient % 2n !== 0n)) return quotient + direction;
  return quotient;
}

function exponentOf(currency: string): number {
  const info = currencyInfo(currency);
  if (!info) throw new RateFormatError(`currency "${currency}" is not supported`);
  return info.exponent;
}

/**
 * The exact value `amount` (minor units of `from`) is worth in minor units of `to` at `rate`, before
 * rounding: amount × rate × 10^(exponent(to) − exponent(from)).
 */
export function exactConversion(amount: number, from: string, to: string, rate: string): Ratio {
  if (!Number.isSafeInteger(amount)) throw new RateFormatError(`amount ${amount} is not an integer number of minor units`);
  const { numerator, denominator } = parseRate(rate);
  const shift = exponentOf(to) - exponentOf(from);
  const scale = 10n ** BigInt(Math.abs(shift));
  return shift >= 0
    ? { numerator: BigInt(amount) * numerator * scale, denominator }
    : { numerator: BigInt(amount) * numerator, denominator: denominator * scale };
}

/**
 * `amount` minor units of `from` in minor units of `to` at `rate`, rounded half to even (banker's
 * rounding: no bias up or down over many conversions). Never a float; the error is at most half a
 * minor unit of `to`.
 */
export function convertAmount(amount: number, from: string, to: string, rate: string): number {
  const exact = exactConversion(amount, from, to, rate);
  const converted = divideHalfEven(exact.numerator, exact.denominator);
  if (converted > BigInt(Number.MAX_SAFE_INTEGER) || converted < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RateFormatError(`${amount} ${from} at ${rate} is too large to convert`);
  }
  return Number(converted);
}

/** A ratio as a decimal string rounded half to even to `digits` significant digits, without trailing zeros. */
export function toSignificantDecimal(value: Ratio, digits: number): string {
  if (value.numerator <= 0n || value.denominator <= 0n) throw new RateFormatError('a rate must be positive');
  // Find the power of ten that leaves `digits` digits before the point, then round once.
  let power = digits - 1 - integerDigitsMinusOne(value);
  let scaled = scaleAndRound(value, power);
  if (scaled.toString().length > digits) {
    // 9.99…→10.0…: rounding carried into one more digit.
    power -= 1;
    scaled = scaleAndRound(value, power);
  }
  return decimalString(scaled, power);
}

/** ⌊log10(value)⌋ for a positive ratio. */
function integerDigitsMinusOne(value: Ratio): number {
  const integer = value.numerator / value.denominator;
  if (integer > 0n) return integer.toString().length - 1;
  let exponent = 0;
  let numerator = value.numerator;
  while (numerator < value.denominator) {
    numerator *= 10n;
    exponent -= 1;
  }
  return exponent;
}

function scaleAndRound(value: Ratio, power: number): bigint {
  const factor = 10n ** BigInt(Math.abs(power));
  return power >= 0 ? divideHalfEven(value.numerator * factor, value.denominator) : divideHalfEven(value.numerator, value.denominator * factor);
}

/** `digits` × 10^(−power) as a plain decimal string. */
function decimalString(digits: bigint, power: number): string {
  if (power <= 0) return (digits * 10n ** BigInt(-power)).toString();
  const text = digits.toString().padStart(power + 1, '0');
  const whole = text.slice(0, text.length - power);
  const fraction = text.slice(text.length - power).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/**
 * The rate from `from` to `to` given ECB's euro rates (1 EUR = euro_rates[x] x): to / from, exact when
 * either side is the euro and its rate has at most 12 significant digits, else rounded half to even to
 * 12 significant digits. The quote carries this rounded rate, and every conversion uses it as is.
 */
export function crossRate(from_per_euro: string, to_per_euro: string): string {
  const from = parseRate(from_per_euro);
  const to = parseRate(to_per_euro);
  return toSignificantDecimal({ numerator: to.numerator * from.denominator, denominator: to.denominator * from.numerator }, CROSS_RATE_SIGNIFICANT_DIGITS);
}

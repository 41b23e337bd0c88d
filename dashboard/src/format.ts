import { currencyInfo } from '../../src/kernel/money';

/**
 * Money arrives in integer minor units with its currency; dates as unix seconds. A currency's minor
 * digits come from Payrail's own table (src/kernel/money.ts, imported as-is: it is pure TypeScript),
 * not from Intl: for huf, isk, idr and others Intl's digits differ from the API's, so an amount would
 * show, and a typed amount would go out, 100× off.
 */
export function currencyExponent(currency: string): number {
  return currencyInfo(currency.toLowerCase())?.exponent ?? 2;
}

/** A major-unit amount (a chart's axis value) with its currency's symbol and exactly its minor digits. */
export function formatMajor(major: number, currency: string): string {
  const digits = currencyExponent(currency);
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(major);
}

/** Amounts stay within eight digits of minor units, so the division is exact once rounded to the digits. */
export function formatMoney(amount: number, currency: string): string {
  return formatMajor(amount / 10 ** currencyExponent(currency), currency);
}

/** Minor units as the decimal a person would type ("12.50", "5000", "1.234"), built from the digits. */
export function toMajorText(minor: number, currency: string): string {
  const digits = currencyExponent(currency);
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const major = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return minor < 0 ? `-${major}` : major;
}

export function toMajorUnits(minor: number, currency: string): number {
  return minor / 10 ** currencyExponent(currency);
}

/**
 * A typed major-unit amount ("12.5") as integer minor units (1250), read digit by digit so no float
 * rounding creeps in (0.29 * 100 is 28.999…). Undefined when it is not a plain non-negative decimal or
 * has more decimals than the currency has minor digits.
 */
export function parseMinorUnits(typed: string | number, currency: string): number | undefined {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(String(typed).trim());
  if (match === null) return undefined;
  const digits = currencyExponent(currency);
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  const minor = Number(`${match[1]}${fraction.padEnd(digits, '0')}`);
  return Number.isSafeInteger(minor) ? minor : undefined;
}

export function formatTime(unix_seconds: number): string {
  return new Date(unix_seconds * 1000).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
}

/** A date input's 'YYYY-MM-DD' as unix seconds at the start (or end) of that day, UTC. */
export function dayToUnix(day: string, end_of_day = false): number | undefined {
  if (day === '') return undefined;
  const start = Date.parse(`${day}T00:00:00Z`) / 1000;
  if (Number.isNaN(start)) return undefined;
  return end_of_day ? start + 86_399 : start;
}

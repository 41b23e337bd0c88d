import { crossRate } from './convert.js';

/**
 * A quote: the rate from one currency to another in effect at a moment, with what a caller stores
 * beside a conversion (its id and the time the rate was published). Pure: no I/O here.
 */
export interface FxQuote {
  /** `fxr_ecb_<date>_<from>_<to>`, e.g. `fxr_ecb_2026-11-30_eur_usd`; stable, so storing it names the rate. */
  id: string;
  from: string;
  to: string;
  /** Units of `to` one unit of `from` buys, an exact decimal string (e.g. '1.0832'). */
  rate: string;
  /** When the rate was published (unix seconds). */
  published_at: number;
}

export interface FxRates {
  /** The rate in effect at `at_s`; throws PayrailError('rate_unavailable') when none, or when older than the maximum age. */
  quote(from: string, to: string, at_s: number): Promise<FxQuote>;
}

/** The ECB publishes its reference rates around 16:00 CET, 15:00 UTC: a day's rate is not known before then. */
export const ECB_PUBLICATION_UTC_S = 15 * 3600;
const DAY_S = 86_400;

/** When the ECB published its rates of `date` (YYYY-MM-DD). */
export function publishedAt(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000 + ECB_PUBLICATION_UTC_S;
}

/** The UTC date (YYYY-MM-DD) of unix second `s`. */
export function utcDate(s: number): string {
  return new Date(s * 1000).toISOString().slice(0, 10);
}

/**
 * The ECB days whose rates may answer at `at_s`, newest first: published by then, and no older than
 * `max_age_s`. Empty when `max_age_s` is shorter than the time since the last possible publication.
 */
export function candidateDays(at_s: number, max_age_s: number): string[] {
  const newest = Math.floor((at_s - ECB_PUBLICATION_UTC_S) / DAY_S);
  const oldest = Math.ceil((at_s - max_age_s - ECB_PUBLICATION_UTC_S) / DAY_S);
  const days: string[] = [];
  for (let day = newest; day >= oldest; day -= 1) days.push(utcDate(day * DAY_S));
  return days;
}

/**
 * The quote from `from` to `to` on an ECB day, or undefined when the day lacks either currency.
 * `euro_rates` maps each currency to the units one euro buys; the euro itself is 1.
 */
export function quoteOnDay(date: string, euro_rates: ReadonlyMap<string, string>, from: string, to: string): FxQuote | undefined {
  const from_per_euro = from === 'eur' ? '1' : euro_rates.get(from);
  const to_per_euro = to === 'eur' ? '1' : euro_rates.get(to);
  if (from_per_euro === undefined || to_per_euro === undefined) return undefined;
  return { id: `fxr_ecb_${date}_${from}_${to}`, from, to, rate: crossRate(from_per_euro, to_per_euro), published_at: publishedAt(date) };
}

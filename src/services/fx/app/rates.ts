import { PayrailError } from '../../../kernel/errors.js';
import { isSupportedCurrency } from '../../../kernel/money.js';
import type { Db } from '../../../platform/db.js';
import type { CachedDay, DayCache } from '../adapters/day-cache.js';
import { storedDays } from '../adapters/rates-store.js';
import type { FxQuote, FxRates } from '../domain/quote.js';
import { candidateDays, quoteOnDay } from '../domain/quote.js';

/**
 * FxRates over the ECB rates of fx.rates, through the day cache (docs/currencies.md#rates). A quote
 * uses the newest ECB day published by the time asked that has both currencies, and none older than
 * the maximum age: a conversion never runs on a stale rate.
 */

export interface EcbRatesDeps {
  db: Db;
  cache: DayCache;
  /** fx_rate_max_age_s (PAYRAIL_FX_RATE_MAX_AGE_S). */
  max_age_s: number;
}

/** A published day never changes: kept a day (bounded memory, not correctness). */
export const DAY_TTL_S = 86_400;
/** A day found empty may be loaded any minute (the daily file): remembered only briefly. */
export const ABSENT_TTL_S = 60;

export class EcbRates implements FxRates {
  constructor(private readonly deps: EcbRatesDeps) {}

  async quote(from: string, to: string, at_s: number): Promise<FxQuote> {
    for (const [currency, param] of [
      [from, 'from'],
      [to, 'to'],
    ] as const) {
      if (!isSupportedCurrency(currency)) throw new PayrailError('currency_invalid', { param, message: `Invalid currency: ${currency}.` });
    }
    if (from === to) return { id: `fxr_par_${from}_${to}`, from, to, rate: '1', published_at: at_s };
    const dates = candidateDays(at_s, this.deps.max_age_s);
    const cached = await this.deps.cache.getMany(dates);
    let answer = newestQuote(dates, cached, from, to);
    if (answer === 'miss') answer = newestQuote(dates, await this.withStoredDays(dates, cached), from, to);
    if (answer !== 'miss' && answer !== 'none') return answer;
    throw new PayrailError('rate_unavailable', {
      message: `No ${from.toUpperCase()} to ${to.toUpperCase()} exchange rate was published in the ${this.deps.max_age_s} seconds before ${new Date(at_s * 1000).toISOString()} (fx_rate_max_age_s).`,
    });
  }

  /** `cached` completed from the database (one query for every date it misses), the misses then cached. */
  private async withStoredDays(dates: readonly string[], cached: Map<string, CachedDay>): Promise<Map<string, CachedDay>> {
    const missing = dates.filter((date) => !cached.has(date));
    const stored = await storedDays(this.deps.db, missing.at(-1)!, missing[0]!);
    for (const date of missing) {
      const day: CachedDay = stored.get(date) ?? 'absent';
      cached.set(date, day);
      await this.deps.cache.set(date, day, day === 'absent' ? ABSENT_TTL_S : DAY_TTL_S);
    }
    return cached;
  }
}

/** The quote of the newest day that has both currencies; 'miss' when a newer day is not known yet. */
function newestQuote(dates: readonly string[], days: ReadonlyMap<string, CachedDay>, from: string, to: string): FxQuote | 'miss' | 'none' {
  for (const date of dates) {
    const day = days.get(date);
    if (day === undefined) return 'miss';
    const quote = day === 'absent' ? undefined : quoteOnDay(date, day, from, to);
    if (quote) return quote;
  }
  return 'none';
}

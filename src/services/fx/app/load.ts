import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import type { DayCache } from '../adapters/day-cache.js';
import type { RatesSource } from '../adapters/rates-source.js';
import type { LoadSummary } from '../adapters/rates-store.js';
import { newestStoredDay, storeEcbDays, storedDays } from '../adapters/rates-store.js';
import type { EcbDay } from '../domain/ecb.js';
import { parseEcbRates, redated } from '../domain/ecb.js';
import { ECB_PUBLICATION_UTC_S, candidateDays, utcDate } from '../domain/quote.js';

/**
 * Loading ECB files into fx.rates: the CLI's `payrail fx load`, the daily job, and start-up. A file is
 * read and parsed whole before anything is stored, and stored in one transaction.
 */

export interface LoadDeps {
  pool: Pool;
  clock: Clock;
  /** The day cache to clear for the loaded days (a day cached as absent must see its new rates). */
  cache?: DayCache;
}

export async function loadRates(deps: LoadDeps, source: RatesSource): Promise<LoadSummary> {
  return storeDays(deps, parseEcbRates(await source.read()));
}

async function storeDays(deps: LoadDeps, days: readonly EcbDay[]): Promise<LoadSummary> {
  const summary = await storeEcbDays(deps.pool, days, unixSeconds(deps.clock));
  await deps.cache?.forget(days.map((day) => day.date));
  return summary;
}

/** Whether a rate that a quote could use now is stored (one published within `max_age_s`). */
export async function hasFreshRates(deps: LoadDeps, max_age_s: number): Promise<boolean> {
  const days = candidateDays(unixSeconds(deps.clock), max_age_s);
  return days.length > 0 && (await storedDays(deps.pool, days.at(-1)!, days[0]!)).size > 0;
}

/**
 * Test mode without a rates URL: the shipped sample, moved so its newest day is the newest published, for the days
 * newer than any stored (a development database keeps the days it was given before). Live mode never
 * calls this: its rates are the ECB's, or none.
 */
export async function loadDevelopmentRates(deps: LoadDeps, sample: RatesSource): Promise<LoadSummary> {
  const newest = await newestStoredDay(deps.pool);
  // Its newest day is the newest already published now, so a quote can use it at once.
  const days = redated(parseEcbRates(await sample.read()), utcDate(unixSeconds(deps.clock) - ECB_PUBLICATION_UTC_S));
  return storeDays(
    deps,
    days.filter((day) => newest === undefined || day.date > newest),
  );
}

import type { Clock } from '../../../kernel/clock.js';
import type { Logger } from '../../../platform/logger.js';
import type { Pool } from '../../../platform/db.js';
import type { Scheduler } from '../../../platform/scheduler.js';
import type { DayCache } from '../adapters/day-cache.js';
import { LocalDayCache, RedisDayCache, TieredDayCache } from '../adapters/day-cache.js';
import { SAMPLE_RATES_FILE, ratesSource } from '../adapters/rates-source.js';
import type { FxRates } from '../domain/quote.js';
import { hasFreshRates, loadDevelopmentRates, loadRates } from './load.js';
import { EcbRates } from './rates.js';

/**
 * The fx service as the server runs it: quotes through the day cache (Redis when configured), the
 * rates loaded at start-up when none is fresh, and, with fx_rates_url, an hourly job loading that
 * file (the ECB's daily file: reloading a day already stored changes nothing).
 */

export interface FxSettings {
  mode: 'test' | 'live';
  fx_rate_max_age_s: number;
  fx_rates_url: string | undefined;
  redis_url: string | undefined;
  redis_prefix: string;
}

export interface FxServiceDeps {
  settings: FxSettings;
  pool: Pool;
  clock: Clock;
  logger: Logger;
}

export interface FxService {
  rates: FxRates;
  /** Loads the configured rates file now, as the hourly job does (tests call it by hand). */
  refresh(): Promise<void>;
  /** With fx_rates_url, registers the hourly load (before the scheduler starts). */
  scheduleRefresh(scheduler: Scheduler): void;
  close(): Promise<void>;
}

export const FX_RATES_JOB = 'fx-rates-load';
/** Hourly, at ten past: the ECB publishes around 15:00 UTC, and a late file is picked up within the hour. */
const FX_RATES_CRON = '10 * * * *';
/** The in-process tier keeps a day at most this long (the Redis tier keeps it a day). */
const LOCAL_TTL_S = 3600;

export async function startFx(deps: FxServiceDeps): Promise<FxService> {
  const { settings, logger } = deps;
  const cache = dayCache(settings, logger);
  const load_deps = { pool: deps.pool, clock: deps.clock, cache };
  const refresh = async () => {
    if (settings.fx_rates_url === undefined) return;
    const summary = await loadRates(load_deps, ratesSource(settings.fx_rates_url));
    logger.info({ ...summary, source: settings.fx_rates_url }, 'fx rates loaded');
  };
  if (!(await hasFreshRates(load_deps, settings.fx_rate_max_age_s))) {
    // A failed start-up load is not fatal: quotes answer rate_unavailable until the job succeeds.
    await initialLoad(settings, load_deps, refresh).catch((error: Error) => logger.error({ err: error }, 'fx rates: start-up load failed'));
  }
  return {
    rates: new EcbRates({ db: deps.pool, cache, max_age_s: settings.fx_rate_max_age_s }),
    refresh,
    scheduleRefresh: (scheduler) => {
      if (settings.fx_rates_url !== undefined) scheduler.every(FX_RATES_JOB, { cron: FX_RATES_CRON }, refresh);
    },
    close: () => cache.close(),
  };
}

async function initialLoad(settings: FxSettings, deps: Parameters<typeof loadDevelopmentRates>[0], refresh: () => Promise<void>): Promise<void> {
  if (settings.fx_rates_url !== undefined) return refresh();
  // Development rates only in test mode: live mode converts with the ECB's rates or not at all.
  if (settings.mode === 'test') await loadDevelopmentRates(deps, ratesSource(SAMPLE_RATES_FILE));
}

function dayCache(settings: FxSettings, logger: Logger): DayCache {
  const local = new LocalDayCache();
  if (settings.redis_url === undefined) return local;
  let reported = false;
  const shared = new RedisDayCache(settings.redis_url, settings.redis_prefix, (error) => {
    // Once per process: while Redis is away every command fails, and the other tiers answer.
    if (!reported) logger.warn({ err: error }, 'fx rates: Redis cache unavailable, answering from the process and the database');
    reported = true;
  });
  return new TieredDayCache(local, shared, LOCAL_TTL_S);
}

/**
 * The fx service's public entry (docs/currencies.md): the ECB's euro reference rates (parsed, stored,
 * cached), quotes of the rate in effect at a moment, and exact conversion of integer minor units.
 * Other modules reach it only through this file.
 */
export { fxMigrations } from './migrations/index.js';

// Exact conversion: decimal-string rates, BigInt arithmetic, round half to even.
export type { Ratio } from './domain/convert.js';
export { CROSS_RATE_SIGNIFICANT_DIGITS, RateFormatError, convertAmount, crossRate, divideHalfEven, exactConversion, parseRate } from './domain/convert.js';

// Quotes: the rate in effect at a moment, with its id and publication time.
export type { FxQuote, FxRates } from './domain/quote.js';
export { ECB_PUBLICATION_UTC_S, publishedAt } from './domain/quote.js';
export type { EcbRatesDeps } from './app/rates.js';
export { EcbRates } from './app/rates.js';

// The ECB reference-rates files and their store and cache.
export type { EcbDay } from './domain/ecb.js';
export { EcbFormatError, parseEcbRates } from './domain/ecb.js';
export type { LoadSummary } from './adapters/rates-store.js';
export { RateConflictError, storeEcbDays } from './adapters/rates-store.js';
export type { CachedDay, DayCache } from './adapters/day-cache.js';
export { LocalDayCache, RedisDayCache, TieredDayCache } from './adapters/day-cache.js';

// The service as the server runs it, and loading files (the CLI, the hourly job, start-up).
export type { FxService, FxServiceDeps, FxSettings } from './app/service.js';
export { FX_RATES_JOB, startFx } from './app/service.js';
export type { LoadDeps } from './app/load.js';
export { hasFreshRates, loadDevelopmentRates, loadRates } from './app/load.js';
export type { RatesSource } from './adapters/rates-source.js';
export { RatesSourceError, SAMPLE_RATES_FILE, ratesSource } from './adapters/rates-source.js';

import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { systemClock } from '../kernel/clock.js';
import { EcbFormatError, RateConflictError, RatesSourceError, RedisDayCache, loadRates, ratesSource } from '../services/fx/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, command } from './command-line.js';

/**
 * `payrail fx load <file-or-url>`: loads an ECB euro reference-rates file (daily, 90-day or historic)
 * into the server's database, whole or not at all (docs/currencies.md#loading-rates). Days already
 * stored are skipped; a file that changes a stored rate is refused.
 */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

const REFUSALS = [EcbFormatError, RateConflictError, RatesSourceError];

export function fxCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['fx', 'load'],
      args: ['file-or-url'],
      options: {},
      summary: 'load an ECB euro reference-rates XML file (path or http(s) URL) into the rates store',
      run: (_values, [location]) =>
        withDatabase(async (database) => {
          const config = loadConfig();
          // The servers' shared cache forgets the loaded days, so a day they found empty shows its new rates at once.
          const cache = config.redis_url === undefined ? undefined : new RedisDayCache(config.redis_url, config.redis_prefix, () => {});
          try {
            const summary = await loadRates({ pool: database.pool, clock: systemClock, cache }, ratesSource(location!));
            process.stdout.write(`fx load: ${summary.days} days (newest ${summary.latest}), ${summary.inserted} rates stored\n`);
            return EXIT_OK;
          } catch (error) {
            if (!REFUSALS.some((kind) => error instanceof kind)) throw error;
            process.stderr.write(`fx load: refused, nothing stored: ${(error as Error).message}\n`);
            return EXIT_PROBLEM;
          } finally {
            await cache?.close();
          }
        }),
    }),
  ];
}

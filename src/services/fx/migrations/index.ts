import type { Migration } from '../../../platform/migrations.js';

/**
 * The fx schema: the ECB's euro reference rates as loaded (docs/currencies.md). Rates are public
 * market data, the same for every merchant, so the table is not merchant-scoped. A rate is kept as
 * the exact decimal text the ECB published, never a float.
 */
export const fxMigrations: Migration[] = [
  {
    id: 'fx/001_rates',
    sql: `
      CREATE SCHEMA IF NOT EXISTS fx;
      CREATE TABLE fx.rates (
        date date NOT NULL,
        base text NOT NULL DEFAULT 'eur' CHECK (base = 'eur'),
        currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$' AND currency <> 'eur'),
        rate text NOT NULL CHECK (rate ~ '^[0-9]{1,18}(\\.[0-9]{1,18})?$' AND rate !~ '^[0.]+$'),
        loaded_at bigint NOT NULL,
        PRIMARY KEY (date, currency)
      );`,
  },
];

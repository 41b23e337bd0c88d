import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Products and prices keep the whole object in `state`; the columns beside it are what lists filter
 * on. A product with prices cannot be deleted (Stripe refuses it): creating a price counts it on its
 * product (`price_count`, in the same statement), and the delete requires a count of 0, so a delete
 * racing a new price fails its guard instead of orphaning it; the foreign key is the backstop. A
 * lookup key names one price per merchant; the constraint is checked at the end of the statement, so
 * `transfer_lookup_key` moves a key from one price to another in one statement.
 */
export const catalogMigration: Migration = {
  id: 'billing/001_catalog',
  sql: `
    CREATE SCHEMA IF NOT EXISTS billing;
    CREATE TABLE billing.products (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      active boolean NOT NULL,
      shippable boolean,
      url text,
      price_count int NOT NULL DEFAULT 0 CHECK (price_count >= 0),
      created bigint NOT NULL,
      version int NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id)
    );
    CREATE TABLE billing.prices (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      product_id text COLLATE "C" NOT NULL,
      active boolean NOT NULL,
      currency text NOT NULL,
      type text NOT NULL CHECK (type IN ('one_time', 'recurring')),
      recurring_interval text CHECK (recurring_interval IN ('day', 'week', 'month', 'year')),
      recurring_usage_type text CHECK (recurring_usage_type IN ('licensed', 'metered')),
      lookup_key text,
      created bigint NOT NULL,
      version int NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id),
      FOREIGN KEY (merchant_id, product_id) REFERENCES billing.products (merchant_id, id) ON DELETE RESTRICT,
      CHECK ((type = 'recurring') = (recurring_interval IS NOT NULL)),
      CONSTRAINT prices_lookup_key_unique UNIQUE (merchant_id, lookup_key) DEFERRABLE
    );
    CREATE INDEX prices_by_product ON billing.prices (merchant_id, product_id, id);
    ${merchantScoped('billing.products')}
    ${merchantScoped('billing.prices')}`,
};

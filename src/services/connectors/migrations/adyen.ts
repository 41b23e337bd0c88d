import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * The Adyen connector's memory (adapters/adyen-records.ts): per merchant account and Payrail
 * reference, Adyen's pspReference and the outcome once known. No card data.
 */
export const adyenMigrations: Migration[] = [
  {
    id: 'connectors/adyen_001_records',
    sql: `
      CREATE SCHEMA IF NOT EXISTS connectors;

      -- One row per payment reference (the attempt id the connector was called with), written before
      -- /payments is called; result stays NULL while the outcome is unknown.
      CREATE TABLE connectors.adyen_payments (
        merchant_account text COLLATE "C" NOT NULL,
        reference text COLLATE "C" NOT NULL,
        merchant_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        currency text NOT NULL,
        capture_requested boolean NOT NULL,
        psp_reference text,
        authorisation_token text,
        result jsonb,
        amount_captured bigint NOT NULL DEFAULT 0,
        amount_refunded bigint NOT NULL DEFAULT 0,
        voided boolean NOT NULL DEFAULT false,
        created_at_ms bigint NOT NULL,
        technical_cancel_at_ms bigint,
        PRIMARY KEY (merchant_account, reference),
        CHECK (amount_captured BETWEEN 0 AND amount),
        CHECK (amount_refunded BETWEEN 0 AND amount_captured)
      );

      -- One row per refund id, written before the refund call; outcome NULL until answered.
      CREATE TABLE connectors.adyen_refunds (
        merchant_account text COLLATE "C" NOT NULL,
        refund_id text COLLATE "C" NOT NULL,
        reference text COLLATE "C" NOT NULL,
        merchant_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        outcome jsonb,
        created_at_ms bigint NOT NULL,
        PRIMARY KEY (merchant_account, refund_id)
      );
      ${merchantScopedTables(['connectors.adyen_payments', 'connectors.adyen_refunds'])}`,
  },
  {
    id: 'connectors/adyen_002_capture_failed',
    sql: `
      -- Adyen answers a capture "received" and reports its outcome by notification, which may be
      -- recorded before the answer is: a failure, once recorded, keeps the answer from counting it.
      ALTER TABLE connectors.adyen_payments ADD COLUMN capture_failed boolean NOT NULL DEFAULT false;`,
  },
];

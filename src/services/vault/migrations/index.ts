import type { Migration } from '../../../platform/migrations.js';

export const vaultMigrations: Migration[] = [
  {
    id: 'vault/001_init',
    sql: `
      CREATE SCHEMA IF NOT EXISTS vault;
      -- The only table holding card numbers, and only as AES-256-GCM ciphertext under a wrapped data key.
      CREATE TABLE vault.payment_methods (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        customer_id text,
        created bigint NOT NULL,
        version int NOT NULL,
        state jsonb NOT NULL,
        kek_id text NOT NULL,
        wrapped_key bytea NOT NULL,
        ciphertext bytea NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX payment_methods_by_customer ON vault.payment_methods (merchant_id, customer_id, id) WHERE customer_id IS NOT NULL;
      -- Every time a card number leaves the vault: who, which card, why, when.
      CREATE TABLE vault.detokenizations (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id text NOT NULL,
        payment_method_id text NOT NULL,
        purpose text NOT NULL,
        reference_id text NOT NULL,
        at_ms bigint NOT NULL
      );`,
  },
];

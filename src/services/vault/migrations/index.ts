import type { Migration } from '../../../platform/migrations.js';
import { DB_ROLES, merchantScopedTables } from '../../../platform/rls.js';

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
  {
    id: 'vault/002_kms',
    sql: `
      -- Cards sealed through the KMS: kek_id kms:<prefix> (kms:vault, kms:dev), wrapped_key the KMS's text
      -- (vault:v3:…), key_version its version.
      -- Rows from before keep kek_id kek_… and a NULL key_version until a rotation rewraps them.
      ALTER TABLE vault.payment_methods ADD COLUMN key_version int;
      ALTER TABLE vault.payment_methods ADD CONSTRAINT payment_methods_kms_version CHECK ((kek_id LIKE 'kms:%') = (key_version IS NOT NULL));
      CREATE INDEX payment_methods_by_key_version ON vault.payment_methods ((COALESCE(key_version, 0)));
      -- Long-lived keys the vault keeps wrapped by the KMS (the card fingerprint key).
      CREATE TABLE vault.data_keys (
        name text PRIMARY KEY,
        purpose text NOT NULL,
        wrapped text NOT NULL,
        key_version int NOT NULL,
        created_ms bigint NOT NULL
      );
      -- One row per run of payrail keys rotate for a purpose: where its rewrap got to, so a crashed run resumes.
      CREATE TABLE vault.key_rotations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        purpose text NOT NULL,
        to_version int NOT NULL,
        state text NOT NULL CHECK (state IN ('rewrapping', 'retired')),
        cursors jsonb NOT NULL DEFAULT '{}',
        rewrapped bigint NOT NULL DEFAULT 0,
        rotated_ms bigint NOT NULL,
        finished_ms bigint
      );
      CREATE UNIQUE INDEX key_rotations_one_running ON vault.key_rotations (purpose) WHERE state = 'rewrapping';`,
  },
  {
    // Row-level security as everywhere (platform/rls.ts); the vault's own role reads across merchants
    // (key rotation). The request path's role may read a card's metadata and write what a payment or
    // an attach writes, but never read a sealed card: the vault reads those through its own role.
    id: 'vault/003_least_privilege',
    sql: `${merchantScopedTables(['vault.payment_methods', 'vault.detokenizations'])}
      CREATE POLICY vault_scope ON vault.payment_methods TO ${DB_ROLES.vault} USING (true) WITH CHECK (true);
      CREATE POLICY vault_scope ON vault.detokenizations TO ${DB_ROLES.vault} USING (true) WITH CHECK (true);
      GRANT USAGE ON SCHEMA vault TO ${DB_ROLES.app};
      GRANT SELECT (merchant_id, id, customer_id, created, version, state), INSERT, UPDATE (customer_id, version, state)
        ON vault.payment_methods TO ${DB_ROLES.app};
      GRANT INSERT ON vault.detokenizations TO ${DB_ROLES.app};`,
  },
  {
    // Key management runs as the vault's role: the keyring at start, and payrail keys rotate, which
    // rewraps every card's data key (never reading a card number) and keeps its progress.
    id: 'vault/004_key_management_grants',
    sql: `
      GRANT USAGE ON SCHEMA vault TO ${DB_ROLES.vault};
      GRANT SELECT, INSERT, UPDATE ON vault.data_keys, vault.key_rotations TO ${DB_ROLES.vault};
      GRANT SELECT (merchant_id, id, kek_id, wrapped_key, key_version), UPDATE (kek_id, wrapped_key, key_version) ON vault.payment_methods TO ${DB_ROLES.vault};`,
  },
];

import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

export const merchantMigrations: Migration[] = [
  {
    id: 'merchants/001_init',
    sql: `
      CREATE SCHEMA IF NOT EXISTS merchants;
      CREATE TABLE merchants.merchants (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        created bigint NOT NULL
      );
      CREATE TABLE merchants.api_keys (
        key_hash text PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants.merchants (id),
        kind text NOT NULL CHECK (kind IN ('secret', 'publishable')),
        last4 text NOT NULL,
        created bigint NOT NULL
      );
      CREATE INDEX api_keys_by_merchant ON merchants.api_keys (merchant_id);`,
  },
  {
    // Keys get ids (legacy rows: from their hash), restricted permissions, a roll expiry and revocation;
    // hash_scheme tells keyed hashes from the unsalted SHA-256 of older rows, rehashed on first use.
    id: 'merchants/002_api_key_lifecycle',
    sql: `
      ALTER TABLE merchants.api_keys
        ADD COLUMN id text COLLATE "C",
        ADD COLUMN hash_scheme text NOT NULL DEFAULT 'sha256' CHECK (hash_scheme IN ('sha256', 'hmac-sha256')),
        ADD COLUMN livemode boolean NOT NULL DEFAULT false,
        ADD COLUMN name text,
        ADD COLUMN permissions jsonb,
        ADD COLUMN expires_at bigint,
        ADD COLUMN revoked_at bigint;
      UPDATE merchants.api_keys SET id = 'key_' || upper(substr(key_hash, 1, 26));
      ALTER TABLE merchants.api_keys ALTER COLUMN id SET NOT NULL, ALTER COLUMN hash_scheme SET DEFAULT 'hmac-sha256';
      CREATE UNIQUE INDEX api_keys_by_id ON merchants.api_keys (id);
      ALTER TABLE merchants.api_keys DROP CONSTRAINT api_keys_kind_check;
      ALTER TABLE merchants.api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('secret', 'restricted', 'publishable'));
      ALTER TABLE merchants.api_keys ADD CONSTRAINT api_keys_permissions_check CHECK ((kind = 'restricted') = (permissions IS NOT NULL));`,
  },
  {
    // Row-level security: the request path's role sees only its own merchant and keys (platform/rls.ts).
    id: 'merchants/003_row_level_security',
    sql: [merchantScoped('merchants.merchants', 'id'), merchantScoped('merchants.api_keys')].join('\n'),
  },
];

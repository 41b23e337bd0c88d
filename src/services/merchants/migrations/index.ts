import type { Migration } from '../../../platform/migrations.js';
import { DB_ROLES, merchantScoped } from '../../../platform/rls.js';
import { MERCHANT_SETTING } from '../../../platform/merchant-scope.js';

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
  {
    // Connect: a connected account is a merchant row whose platform_id names the platform that created
    // it (NULL for a platform or standalone merchant); default_currency is every merchant's settlement
    // currency. The other columns are the Stripe Account fields /v1/accounts serves; deleted_at marks a
    // deleted account (its ledger rows stay, so the row does too).
    //
    // platform_scope lets the request role (payrail_app), scoped to a platform, see and change the rows
    // of ITS connected accounts, and only those: the USING and WITH CHECK clauses both demand
    // platform_id = the transaction's merchant, so a platform can neither read another's accounts nor
    // move an account to another platform. Policies are OR'ed: merchant_scope still shows a merchant its
    // own row, and nothing else changes for any other table.
    id: 'merchants/004_connected_accounts',
    sql: `
      ALTER TABLE merchants.merchants
        ADD COLUMN platform_id text COLLATE "C" REFERENCES merchants.merchants (id),
        ADD COLUMN default_currency text NOT NULL DEFAULT 'usd' CHECK (default_currency ~ '^[a-z]{3}$'),
        ADD COLUMN type text NOT NULL DEFAULT 'standard' CHECK (type IN ('standard', 'express', 'custom')),
        ADD COLUMN country text NOT NULL DEFAULT 'US' CHECK (country ~ '^[A-Z]{2}$'),
        ADD COLUMN email text,
        ADD COLUMN business_type text CHECK (business_type IN ('company', 'government_entity', 'individual', 'non_profit')),
        ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN capabilities jsonb NOT NULL DEFAULT '{"card_payments": "active", "transfers": "active"}',
        ADD COLUMN charges_enabled boolean NOT NULL DEFAULT true,
        ADD COLUMN payouts_enabled boolean NOT NULL DEFAULT true,
        ADD COLUMN deleted_at bigint,
        ADD COLUMN version integer NOT NULL DEFAULT 1,
        ADD CONSTRAINT merchants_not_own_platform CHECK (platform_id <> id);
      CREATE INDEX merchants_by_platform ON merchants.merchants (platform_id, id) WHERE platform_id IS NOT NULL;
      CREATE POLICY platform_scope ON merchants.merchants TO ${DB_ROLES.app}
        USING (platform_id = current_setting('${MERCHANT_SETTING}', true))
        WITH CHECK (platform_id = current_setting('${MERCHANT_SETTING}', true));`,
  },
];

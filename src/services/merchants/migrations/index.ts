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
    // Row-level security: the request path's role sees only its own merchant and keys (platform/rls.ts).
    id: 'merchants/003_row_level_security',
    sql: [merchantScoped('merchants.merchants', 'id'), merchantScoped('merchants.api_keys')].join('\n'),
  },
];

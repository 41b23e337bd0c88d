import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

export const gatewayMigrations: Migration[] = [
  {
    id: 'gateway/001_idempotency',
    sql: `
      CREATE SCHEMA IF NOT EXISTS gateway;
      -- One row per (merchant, Idempotency-Key). In flight while the request runs (lock_token set);
      -- done once the response is stored, in the same statement as the operation's effects.
      CREATE TABLE gateway.idempotency_keys (
        merchant_id text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        lock_token text,
        locked_at_ms bigint,
        reserved_ids json NOT NULL,
        response_status int,
        response_body text,
        created_at_ms bigint NOT NULL,
        PRIMARY KEY (merchant_id, key),
        CHECK ((lock_token IS NULL) = (response_status IS NOT NULL))
      ) WITH (fillfactor = 80);
      -- BRIN: keys arrive in time order, so a tiny range index serves the purge without a B-tree
      -- to maintain on every payment; the completion UPDATE touches no indexed column and stays HOT.
      CREATE INDEX idempotency_keys_by_age ON gateway.idempotency_keys USING brin (created_at_ms);`,
  },
  {
    id: 'gateway/002_lock_holder',
    sql: `
      -- The process lease (an advisory lock key) of the request holding the key: a retry may take the
      -- lock over as soon as that process is gone. Owned by the write pipeline (src/platform/write).
      ALTER TABLE gateway.idempotency_keys ADD COLUMN holder_lease int;`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's rows (platform/rls.ts).
    id: 'gateway/003_row_level_security',
    sql: merchantScopedTables(['gateway.idempotency_keys']),
  },
  {
    id: 'gateway/004_response_event',
    sql: `
      -- A stored response that is an event's object (a payment intent answered as its
      -- payment_intent.succeeded event holds it) names that event instead of copying its text: the
      -- snapshot is written once. Events outlive keys (the outbox keeps every event; keys go after 24 h).
      ALTER TABLE gateway.idempotency_keys ADD COLUMN response_event text;
      ALTER TABLE gateway.idempotency_keys ADD CONSTRAINT one_stored_response
        CHECK (response_status IS NULL OR (response_body IS NULL) <> (response_event IS NULL)) NOT VALID;`,
  },
];

import type { Migration } from '../../../platform/migrations.js';

export const eventMigrations: Migration[] = [
  {
    id: 'events/001_outbox',
    sql: `
      CREATE SCHEMA IF NOT EXISTS events;
      -- The transactional outbox: written in the same statement or transaction as the change it
      -- records; read by GET /v1/events now and by relays and consumers later. Append-only.
      CREATE TABLE events.outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text COLLATE "C" PRIMARY KEY,
        merchant_id text NOT NULL,
        type text NOT NULL,
        created bigint NOT NULL,
        object_id text NOT NULL,
        -- json, not jsonb: kept byte for byte, so events read back in Stripe's field order.
        data json NOT NULL,
        request json NOT NULL
      );
      CREATE UNIQUE INDEX outbox_seq ON events.outbox (seq);
      CREATE INDEX outbox_by_merchant ON events.outbox (merchant_id, id);
      CREATE INDEX outbox_by_merchant_type ON events.outbox (merchant_id, type, id);`,
  },
];

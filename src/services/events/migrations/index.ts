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
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        type text NOT NULL,
        created bigint NOT NULL,
        object_id text NOT NULL,
        -- json, not jsonb: kept byte for byte, so events read back in Stripe's field order.
        data json NOT NULL,
        request json NOT NULL,
        -- Two indexes only: every payment writes several events, and each index costs on that path.
        -- Lists and retrieval use the key; relays and consumers read in seq order.
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX outbox_seq ON events.outbox (seq);`,
  },
];

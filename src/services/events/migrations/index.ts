import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

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
  {
    id: 'events/002_consumers',
    sql: `
      -- Consumers read the outbox in commit-safe order. seq is assigned at insert, so a transaction
      -- holding a lower seq can commit after one holding a higher seq: reading "seq > offset" would
      -- skip it. Each row records its top-level transaction id instead; a reader takes only rows whose
      -- xid is below its snapshot's xmin (every such transaction has finished), in (xid, seq) order,
      -- so nothing can later appear before an offset it has passed. Existing rows share the xid of
      -- this migration and keep their seq order.
      ALTER TABLE events.outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
      DROP INDEX events.outbox_seq;
      CREATE INDEX outbox_by_xid ON events.outbox (xid, seq);

      -- One durable position per consumer: the last (xid, seq) it has applied.
      CREATE TABLE events.consumer_offsets (
        consumer text PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT '0',
        seq bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Events a consumer has applied, written in the transaction of their effects: a second delivery
      -- of one event (a replayed bus message, a redone batch) finds its row and has no effect.
      CREATE TABLE events.consumer_inbox (
        consumer text NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        merchant_id text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      );
      -- Failed attempts of an event still being retried; the row goes when the event is parked.
      CREATE TABLE events.consumer_attempts (
        consumer text NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        attempts int NOT NULL CHECK (attempts > 0),
        last_error text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      );
      -- Events a consumer gave up on after its bounded retries, with the last error: the consumer
      -- moved past them, so an operator (and ledger verify) must look at each.
      CREATE TABLE events.dead_letters (
        consumer text NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        merchant_id text NOT NULL,
        type text NOT NULL,
        xid xid8 NOT NULL,
        seq bigint NOT NULL,
        attempts int NOT NULL,
        error text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      );`,
  },
  {
    id: 'events/003_webhooks',
    sql: `
      -- Webhook endpoints (Stripe's /v1/webhook_endpoints). The signing secret is stored sealed
      -- (AES-256-GCM, bound to the endpoint id), never in clear. Deleting an endpoint removes its row.
      CREATE TABLE events.webhook_endpoints (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        url text NOT NULL,
        enabled_events text[] NOT NULL CHECK (cardinality(enabled_events) > 0),
        status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
        description text,
        metadata jsonb NOT NULL DEFAULT '{}',
        api_version text,
        secret_sealed bytea NOT NULL,
        version int NOT NULL DEFAULT 1,
        PRIMARY KEY (merchant_id, id)
      );

      -- One row per (event, endpoint) to deliver; written by the webhooks consumer in the transaction
      -- that records the event in its inbox. id is the enqueue order (the outbox's commit-safe order).
      CREATE TABLE events.webhook_deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY,
        merchant_id text NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        endpoint_id text COLLATE "C" NOT NULL,
        event_type text NOT NULL,
        object_id text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
        -- Every attempt ever (numbers the attempt rows); scheduled_attempts counts since the last
        -- (re)send and drives the backoff and the cap; round_started_ms starts the give-up clock.
        attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        scheduled_attempts int NOT NULL DEFAULT 0 CHECK (scheduled_attempts >= 0),
        created_ms bigint NOT NULL,
        round_started_ms bigint NOT NULL,
        next_attempt_ms bigint NOT NULL,
        -- Set while a worker sends it: a worker that dies leaves a lease that simply runs out.
        lease_until_ms bigint,
        lease_token text,
        last_attempt_ms bigint,
        last_http_status int,
        last_error text,
        PRIMARY KEY (merchant_id, event_id, endpoint_id)
      );
      CREATE UNIQUE INDEX webhook_deliveries_id ON events.webhook_deliveries (id);
      -- Due work per endpoint, and the per-(endpoint, object) order guard.
      CREATE INDEX webhook_deliveries_due ON events.webhook_deliveries (endpoint_id, next_attempt_ms, id) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_object ON events.webhook_deliveries (endpoint_id, object_id, id) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_leased ON events.webhook_deliveries (endpoint_id) WHERE status = 'pending' AND lease_until_ms IS NOT NULL;
      CREATE INDEX webhook_deliveries_failed ON events.webhook_deliveries (id) WHERE status = 'failed';

      -- Every attempt: HTTP status (null when there was no response), latency, a bounded excerpt.
      CREATE TABLE events.webhook_attempts (
        delivery_id bigint NOT NULL,
        attempt int NOT NULL,
        merchant_id text NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        endpoint_id text COLLATE "C" NOT NULL,
        started_ms bigint NOT NULL,
        latency_ms int NOT NULL,
        http_status int,
        error text,
        response_excerpt text,
        PRIMARY KEY (delivery_id, attempt)
      );

      -- Disabling or deleting an endpoint cancels what it still had to receive, atomically.
      CREATE FUNCTION events.webhook_endpoint_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE events.webhook_deliveries SET status = 'canceled', lease_until_ms = NULL, lease_token = NULL
        WHERE endpoint_id = OLD.id AND merchant_id = OLD.merchant_id AND status = 'pending';
        RETURN NULL;
      END $$;
      CREATE TRIGGER webhook_endpoint_disabled AFTER UPDATE OF status ON events.webhook_endpoints
        FOR EACH ROW WHEN (NEW.status = 'disabled' AND OLD.status <> 'disabled') EXECUTE FUNCTION events.webhook_endpoint_cancel();
      CREATE TRIGGER webhook_endpoint_deleted AFTER DELETE ON events.webhook_endpoints
        FOR EACH ROW EXECUTE FUNCTION events.webhook_endpoint_cancel();

      -- The webhooks consumer starts at the head of the outbox: events from before endpoints existed
      -- have nowhere to go, and an install with history need not replay it all into the inbox.
      INSERT INTO events.consumer_offsets (consumer, xid, seq)
      SELECT 'webhooks', coalesce(max(xid), '0'::xid8), coalesce((SELECT max(seq) FROM events.outbox WHERE xid = (SELECT max(xid) FROM events.outbox)), 0)
      FROM events.outbox
      ON CONFLICT (consumer) DO NOTHING;

      -- An Event's pending_webhooks: before the webhooks consumer has passed the event, the enabled
      -- endpoints it will go to; after, its deliveries not yet succeeded, failed or canceled.
      CREATE FUNCTION events.pending_webhooks(p_merchant text, p_event text, p_type text, p_created bigint) RETURNS int
      LANGUAGE sql STABLE AS $$
        SELECT CASE
          WHEN EXISTS (SELECT 1 FROM events.consumer_inbox i WHERE i.consumer = 'webhooks' AND i.event_id = p_event)
          THEN (SELECT count(*)::int FROM events.webhook_deliveries d
                WHERE d.merchant_id = p_merchant AND d.event_id = p_event AND d.status = 'pending')
          ELSE (SELECT count(*)::int FROM events.webhook_endpoints e
                WHERE e.merchant_id = p_merchant AND e.status = 'enabled' AND e.created <= p_created
                  AND (e.enabled_events @> ARRAY['*'] OR p_type = ANY(e.enabled_events)))
        END
      $$;`,
  },
  {
    id: 'events/004_jetstream',
    sql: `
      -- The NATS binding's consumers: the last JetStream stream sequence each has applied, moved in the
      -- transaction of its effects (with its inbox rows). JetStream acks only follow this.
      CREATE TABLE events.jetstream_positions (
        consumer text NOT NULL,
        stream text NOT NULL,
        stream_seq bigint NOT NULL DEFAULT 0 CHECK (stream_seq >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, stream)
      );
      -- This database's identity towards NATS: it names the default stream and is written into the
      -- stream's description, so a fresh database never binds to an old installation's stream.
      CREATE TABLE events.installation (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        id text NOT NULL
      );
      INSERT INTO events.installation (id) VALUES (substr(replace(gen_random_uuid()::text, '-', ''), 1, 16));`,
  },
  {
    id: 'events/005_jetstream_continuity',
    sql: `
      -- A JetStream consumer's position is only meaningful in the stream it was taken in: a stream
      -- re-created empty (store lost) or truncated restarts or reuses sequence numbers. The position
      -- now names that stream by its creation time, and records the outbox position of the last event
      -- consumed: the next event applied must be that event's successor in the outbox, so a stream that
      -- lost events is noticed and the events are replayed from the outbox instead of skipped.
      ALTER TABLE events.jetstream_positions
        ADD COLUMN stream_created text,
        ADD COLUMN outbox_xid xid8 NOT NULL DEFAULT '0',
        ADD COLUMN outbox_seq bigint NOT NULL DEFAULT 0;
      -- Existing positions: the last event the consumer recorded in its inbox (events in between of
      -- types it does not take are replayed to it harmlessly).
      UPDATE events.jetstream_positions p SET (outbox_xid, outbox_seq) = (
        SELECT o.xid, o.seq FROM events.consumer_inbox i
        JOIN events.outbox o ON o.merchant_id = i.merchant_id AND o.id = i.event_id
        WHERE i.consumer = p.consumer ORDER BY o.xid DESC, o.seq DESC LIMIT 1)
      WHERE EXISTS (SELECT 1 FROM events.consumer_inbox i JOIN events.outbox o ON o.merchant_id = i.merchant_id AND o.id = i.event_id
                    WHERE i.consumer = p.consumer);
      -- The relay's replay generation: a consumer that finds events missing from the stream rewinds the
      -- relay's offset and bumps this, so the relay republishes under new message ids (JetStream would
      -- drop the old ids as duplicates) and a relay still publishing the old generation cannot move the
      -- offset past the rewind. Only the NATS relay's row uses it.
      ALTER TABLE events.consumer_offsets ADD COLUMN generation int NOT NULL DEFAULT 0 CHECK (generation >= 0);`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's rows (platform/rls.ts).
    id: 'events/006_row_level_security',
    sql: merchantScopedTables([
      'events.outbox',
      'events.consumer_inbox',
      'events.dead_letters',
      'events.webhook_endpoints',
      'events.webhook_deliveries',
      'events.webhook_attempts',
    ]),
  },
  {
    id: 'events/007_pending_webhooks_by_position',
    sql: `
      -- The webhooks consumer now passes over the events no endpoint takes without an inbox row, so an
      -- event counts as passed once the consumer's position (embedded offset or JetStream position) is at
      -- or past it. Passed: its deliveries still pending (none when no endpoint took it); not yet: the
      -- enabled endpoints that will take it.
      CREATE OR REPLACE FUNCTION events.pending_webhooks(p_merchant text, p_event text, p_type text, p_created bigint) RETURNS int
      LANGUAGE sql STABLE AS $$
        SELECT CASE
          WHEN EXISTS (
            SELECT 1 FROM events.outbox o
            WHERE o.merchant_id = p_merchant AND o.id = p_event AND (
              EXISTS (SELECT 1 FROM events.consumer_offsets c WHERE c.consumer = 'webhooks' AND (o.xid, o.seq) <= (c.xid, c.seq))
              OR EXISTS (SELECT 1 FROM events.jetstream_positions j WHERE j.consumer = 'webhooks' AND (o.xid, o.seq) <= (j.outbox_xid, j.outbox_seq))))
          THEN (SELECT count(*)::int FROM events.webhook_deliveries d
                WHERE d.merchant_id = p_merchant AND d.event_id = p_event AND d.status = 'pending')
          ELSE (SELECT count(*)::int FROM events.webhook_endpoints e
                WHERE e.merchant_id = p_merchant AND e.status = 'enabled' AND e.created <= p_created
                  AND (e.enabled_events @> ARRAY['*'] OR p_type = ANY(e.enabled_events)))
        END
      $$;`,
  },
];

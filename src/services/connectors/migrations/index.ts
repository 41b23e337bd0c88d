import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';
import { accountMigrations } from './accounts.js';
import { notificationMigrations } from './notifications.js';
import { adyenMigrations } from './adyen.js';

/**
 * The bundled sandbox processor's own records, kept as a real processor keeps them: outside Payrail's
 * tables, read and written only by the sandbox, so restarts and several API processes see one record.
 * No card data: amounts, currency, outcomes, the cvc check and the merchant id only.
 */
export const connectorMigrations: Migration[] = [
  {
    id: 'connectors/001_sandbox',
    sql: `
      CREATE SCHEMA IF NOT EXISTS sandbox;

      -- One row per attempt (Payrail's charge id). result is the first answer, returned to every repeat.
      CREATE TABLE sandbox.attempts (
        attempt_id text COLLATE "C" PRIMARY KEY,
        merchant_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        currency text NOT NULL,
        capture_requested boolean NOT NULL,
        cvc_check text NOT NULL CHECK (cvc_check IN ('pass', 'fail', 'unchecked')),
        result jsonb NOT NULL,
        outcome text GENERATED ALWAYS AS (result->>'outcome') STORED
          CHECK (outcome IN ('authorized', 'declined', 'requires_action')),
        amount_captured bigint NOT NULL DEFAULT 0,
        amount_refunded bigint NOT NULL DEFAULT 0,
        voided boolean NOT NULL DEFAULT false,
        -- Every authorize call for this attempt, repeats included: fault tests count double charges here.
        authorize_calls bigint NOT NULL DEFAULT 1 CHECK (authorize_calls >= 1),
        created_at_ms bigint NOT NULL,
        CHECK (amount_captured BETWEEN 0 AND amount),
        CHECK (amount_refunded BETWEEN 0 AND amount_captured),
        CHECK (NOT (voided AND amount_captured > 0))
      );

      -- One row per refund id, failures included, so a repeated refund gets its first answer.
      CREATE TABLE sandbox.refunds (
        refund_id text COLLATE "C" PRIMARY KEY,
        attempt_id text NOT NULL,
        -- NULL when the attempt was unknown to the sandbox.
        merchant_id text,
        outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
        -- The amount moved; only a succeeded refund moves one.
        amount bigint CHECK (amount > 0),
        failure_message text,
        created_at_ms bigint NOT NULL,
        CHECK ((outcome = 'succeeded') = (amount IS NOT NULL)),
        CHECK ((outcome = 'failed') = (failure_message IS NOT NULL))
      );

      -- BRIN: rows arrive in time order, so a tiny range index serves the retention purge.
      CREATE INDEX attempts_by_age ON sandbox.attempts USING brin (created_at_ms);
      CREATE INDEX refunds_by_age ON sandbox.refunds USING brin (created_at_ms);`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's rows (platform/rls.ts).
    id: 'connectors/002_row_level_security',
    sql: merchantScopedTables(['sandbox.attempts', 'sandbox.refunds']),
  },
  {
    // The sandbox settles each day's captures (docs/settlement.md), so it keeps when each was captured:
    // the capture and 3-D Secure statements set it on the injected clock, and this trigger sets it for
    // automatic capture from the attempt's own time (authorization and capture are one). Earlier
    // captured rows take their attempt's time.
    id: 'connectors/004_sandbox_capture_time',
    sql: `
      ALTER TABLE sandbox.attempts ADD COLUMN captured_at_ms bigint;
      UPDATE sandbox.attempts SET captured_at_ms = created_at_ms WHERE amount_captured > 0;
      CREATE FUNCTION sandbox.captured_at_authorization() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.amount_captured > 0 AND NEW.captured_at_ms IS NULL THEN NEW.captured_at_ms := NEW.created_at_ms; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER attempts_captured_at BEFORE INSERT ON sandbox.attempts
        FOR EACH ROW EXECUTE FUNCTION sandbox.captured_at_authorization();
      ALTER TABLE sandbox.attempts ADD CONSTRAINT attempts_capture_time CHECK ((amount_captured > 0) = (captured_at_ms IS NOT NULL));
      CREATE INDEX attempts_by_capture_time ON sandbox.attempts (captured_at_ms, attempt_id) WHERE captured_at_ms IS NOT NULL;`,
  },
  {
    // Disputes the sandbox raises on Stripe's dispute cards: decided with the attempt (the reason, no
    // card data), recorded as a notification in the statement that captures, acknowledged by Payrail.
    id: 'connectors/003_sandbox_notifications',
    sql: `
      ALTER TABLE sandbox.attempts ADD COLUMN dispute jsonb;
      CREATE TABLE sandbox.notifications (
        id text COLLATE "C" PRIMARY KEY,
        attempt_id text NOT NULL,
        merchant_id text NOT NULL,
        type text NOT NULL CHECK (type IN ('dispute.opened')),
        data jsonb NOT NULL,
        created_at_ms bigint NOT NULL,
        acknowledged_at_ms bigint
      );
      CREATE INDEX notifications_unacknowledged ON sandbox.notifications (created_at_ms, id) WHERE acknowledged_at_ms IS NULL;
      ${merchantScopedTables(['sandbox.notifications'])}`,
  },
  {
    // Early fraud warnings (Stripe's card 4000000000005423) are notifications too.
    id: 'connectors/005_sandbox_fraud_warnings',
    sql: `ALTER TABLE sandbox.notifications DROP CONSTRAINT notifications_type_check,
      ADD CONSTRAINT notifications_type_known CHECK (type IN ('dispute.opened', 'fraud_warning.issued'));`,
  },
  {
    // Stripe's card 4000000000000077 makes its funds available at once: the sandbox decides that with
    // the attempt (no card data, only the answer), so an approval after 3-D Secure keeps it too.
    id: 'connectors/006_sandbox_funds_availability',
    sql: `ALTER TABLE sandbox.attempts ADD COLUMN funds text CHECK (funds IN ('immediate'));`,
  },
  {
    // A notification Payrail rejected waits before it is handed again (doubling), so it cannot hold back others.
    id: 'connectors/007_sandbox_notification_retries',
    sql: `
      ALTER TABLE sandbox.notifications ADD COLUMN attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        ADD COLUMN deliver_after_ms bigint NOT NULL DEFAULT 0;
      DROP INDEX sandbox.notifications_unacknowledged;
      CREATE INDEX notifications_due ON sandbox.notifications (deliver_after_ms, created_at_ms, id) WHERE acknowledged_at_ms IS NULL;`,
  },
  {
    // The router's record of each try of an attempt: written (synchronously committed) before the
    // processor hears of the try, so a status inquiry after a crash knows every processor and id that
    // may hold the attempt. `reference` is the id the try sent. routed_refunds names the account a
    // refund went to, since a refund status inquiry carries only the refund id.
    id: 'connectors/router_001_tries',
    sql: `
      CREATE SCHEMA IF NOT EXISTS connectors;
      CREATE TABLE connectors.routed_tries (
        attempt_id text COLLATE "C" NOT NULL,
        try_number smallint NOT NULL CHECK (try_number BETWEEN 1 AND 3),
        merchant_id text NOT NULL,
        connector_account text NOT NULL,
        connector text NOT NULL,
        reference text COLLATE "C" NOT NULL UNIQUE,
        outcome text NOT NULL CHECK (outcome IN ('pending', 'authorized', 'requires_action', 'declined', 'unreachable', 'unknown')),
        reason text NOT NULL,
        latency_ms integer CHECK (latency_ms >= 0),
        raw_code text,
        result jsonb,
        created_ms bigint NOT NULL,
        PRIMARY KEY (attempt_id, try_number)
      );
      CREATE TABLE connectors.routed_refunds (
        refund_id text COLLATE "C" PRIMARY KEY,
        attempt_id text NOT NULL,
        merchant_id text NOT NULL,
        connector_account text NOT NULL,
        reference text NOT NULL,
        created_ms bigint NOT NULL
      );
      CREATE INDEX routed_tries_by_age ON connectors.routed_tries USING brin (created_ms);
      ${merchantScopedTables(['connectors.routed_tries', 'connectors.routed_refunds'])}`,
  },
  ...adyenMigrations,
  // A merchant's connector accounts and routing rules (accounts.ts).
  ...accountMigrations,
  // The notifications route finds an account by its id alone (notifications.ts).
  ...notificationMigrations,
];

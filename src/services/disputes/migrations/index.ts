import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Disputes keep the whole object in `state`; what lists filter and jobs look for is copied out.
 * `opened_by` (the processor's notification) is unique: a notification delivered twice, or by two
 * processes at once, opens one dispute.
 */
export const disputeMigrations: Migration[] = [
  {
    id: 'disputes/001_disputes',
    sql: `
      CREATE SCHEMA IF NOT EXISTS disputes;
      CREATE TABLE disputes.disputes (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        payment_intent_id text,
        status text NOT NULL CHECK (status IN ('warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'under_review', 'won', 'lost')),
        reason text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        created bigint NOT NULL,
        opened_by text NOT NULL,
        -- The test-mode outcome waiting for the decision job, and since when.
        pending_outcome text CHECK (pending_outcome IN ('won', 'lost')),
        decide_after bigint,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX disputes_by_notification ON disputes.disputes (opened_by);
      CREATE INDEX disputes_by_charge ON disputes.disputes (merchant_id, charge_id, id);
      CREATE INDEX disputes_by_payment_intent ON disputes.disputes (merchant_id, payment_intent_id, id) WHERE payment_intent_id IS NOT NULL;
      CREATE INDEX disputes_fraud_by_created ON disputes.disputes (created) WHERE reason = 'fraudulent';
      CREATE INDEX disputes_awaiting_decision ON disputes.disputes (decide_after) WHERE pending_outcome IS NOT NULL;`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's disputes (platform/rls.ts).
    id: 'disputes/002_row_level_security',
    sql: merchantScoped('disputes.disputes'),
  },
  {
    // The ledger's transfer kinds for a dispute's money (src/services/ledger/domain/dispute-flows.ts).
    id: 'disputes/003_ledger_transfer_kinds',
    sql: `INSERT INTO ledger.transfer_kinds (kind) VALUES ('dispute'), ('dispute_reversal');`,
  },
  {
    // Early fraud warnings, one per processor notification (unique opened_by), read by charge or intent.
    id: 'disputes/004_early_fraud_warnings',
    sql: `
      CREATE TABLE disputes.early_fraud_warnings (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        payment_intent_id text,
        created bigint NOT NULL,
        opened_by text NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX early_fraud_warnings_by_notification ON disputes.early_fraud_warnings (opened_by);
      CREATE INDEX early_fraud_warnings_by_charge ON disputes.early_fraud_warnings (merchant_id, charge_id, id);
      CREATE INDEX early_fraud_warnings_by_payment_intent ON disputes.early_fraud_warnings (merchant_id, payment_intent_id, id) WHERE payment_intent_id IS NOT NULL;
      ${merchantScoped('disputes.early_fraud_warnings')}`,
  },
  {
    // When an unanswered chargeback is lost (its due_by while it needs a response), for the decision job.
    id: 'disputes/005_respond_by',
    sql: `
      ALTER TABLE disputes.disputes ADD COLUMN respond_by bigint;
      CREATE INDEX disputes_awaiting_response ON disputes.disputes (respond_by) WHERE respond_by IS NOT NULL;`,
  },
];

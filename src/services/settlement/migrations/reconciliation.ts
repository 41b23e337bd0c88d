import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * Reconciliation: one run per processor report with its totals, the exceptions it found (with the
 * evidence: the report line and Payrail's record), and the lines it matched, by the Payrail object
 * they settle, so a second line for the same object is a duplicate and an object no report settles
 * is found missing. Exceptions and matches belong to a merchant (row-level security); a run spans
 * merchants. A line Payrail has no record of has no merchant: only the system role sees it.
 */
export const reconciliationMigrations: Migration[] = [
  {
    id: 'settlement/200_reconciliation',
    sql: `
      INSERT INTO ledger.transfer_kinds (kind) VALUES ('processor_fee_adjustment') ON CONFLICT DO NOTHING;
      INSERT INTO ledger.account_codes (code, normal) VALUES ('processor_fee_variance', 'debit') ON CONFLICT DO NOTHING;

      CREATE TABLE settlement.reconciliation_runs (
        id text COLLATE "C" PRIMARY KEY,
        report_id text NOT NULL UNIQUE,
        report_date text NOT NULL CHECK (report_date ~ '^\\d{4}-\\d{2}-\\d{2}$'),
        lines bigint NOT NULL CHECK (lines >= 0),
        matched bigint NOT NULL CHECK (matched >= 0),
        auto_fixed bigint NOT NULL CHECK (auto_fixed >= 0),
        open bigint NOT NULL CHECK (open >= 0),
        started_at bigint NOT NULL,
        completed_at bigint NOT NULL,
        runs int NOT NULL DEFAULT 1 CHECK (runs >= 1)
      );
      CREATE INDEX reconciliation_runs_by_date ON settlement.reconciliation_runs (report_date, id);

      CREATE TABLE settlement.reconciliation_exceptions (
        id text COLLATE "C" PRIMARY KEY,
        run_id text NOT NULL REFERENCES settlement.reconciliation_runs (id),
        merchant_id text,
        class text NOT NULL CHECK (class IN ('missing_in_payrail', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch', 'fee_mismatch', 'duplicate', 'settled_late')),
        status text NOT NULL CHECK (status IN ('auto_fixed', 'open')),
        reference text NOT NULL,
        line int,
        detail text NOT NULL,
        -- The evidence: the report line as parsed, and Payrail's record as reconciliation read it.
        report_line jsonb,
        payrail_record jsonb,
        -- The fee adjustment its rule booked (minor units of the record's currency) and its transfer.
        adjustment bigint,
        transfer_id text,
        created bigint NOT NULL
      );
      CREATE INDEX reconciliation_exceptions_by_run ON settlement.reconciliation_exceptions (run_id, id);
      CREATE INDEX reconciliation_exceptions_open ON settlement.reconciliation_exceptions (created) WHERE status = 'open';

      -- One row per Payrail object and line type a report settled: the first line that did.
      CREATE TABLE settlement.reconciliation_matches (
        reference text COLLATE "C" NOT NULL,
        type text NOT NULL,
        merchant_id text NOT NULL,
        report_id text NOT NULL,
        line int NOT NULL,
        PRIMARY KEY (reference, type)
      );
      ${merchantScopedTables(['settlement.reconciliation_exceptions', 'settlement.reconciliation_matches'])}`,
  },
];

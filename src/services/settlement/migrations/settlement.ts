import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * Processor settlement: each report imported (one per connector and batch), its lines as staged, and
 * what became of each line in the ledger; and the settlement run's record of each day it settled.
 * Tables span merchants (a report holds every merchant account's lines) and are read and written by
 * the system role only, so they are not merchant-scoped.
 */
export const settlementReportMigrations: Migration[] = [
  {
    id: 'settlement/001_settlement_reports',
    sql: `
      INSERT INTO ledger.transfer_kinds (kind) VALUES ('settlement'), ('refund_settlement'), ('processor_fee') ON CONFLICT DO NOTHING;

      -- A report is staged whole (every line, in one transaction) before any line posts.
      CREATE TABLE settlement.reports (
        connector text NOT NULL,
        batch_number bigint NOT NULL CHECK (batch_number > 0),
        -- SHA-256 of the file: the same batch imported again with other content is refused.
        sha256 text NOT NULL,
        lines int NOT NULL CHECK (lines > 0),
        status text NOT NULL CHECK (status IN ('staged', 'posted')),
        imported_at_ms bigint NOT NULL,
        posted_at_ms bigint,
        PRIMARY KEY (connector, batch_number),
        CHECK ((status = 'posted') = (posted_at_ms IS NOT NULL))
      );

      CREATE TABLE settlement.report_lines (
        connector text NOT NULL,
        batch_number bigint NOT NULL,
        line int NOT NULL CHECK (line > 1),
        merchant_id text NOT NULL,
        type text NOT NULL,
        psp_reference text NOT NULL,
        modification_reference text NOT NULL,
        currency text NOT NULL,
        -- Minor units: what the line moved (gross), the processor's fees, and the net (signed: + paid to Payrail).
        gross bigint NOT NULL,
        fees bigint NOT NULL,
        net bigint NOT NULL,
        created_s bigint NOT NULL,
        -- pending until posted; then what the line did in the ledger (docs/settlement.md).
        outcome text NOT NULL CHECK (outcome IN ('pending', 'posted', 'already_settled', 'unmatched', 'not_posted')),
        transfer_id text,
        PRIMARY KEY (connector, batch_number, line)
      );
      CREATE INDEX report_lines_pending ON settlement.report_lines (connector, batch_number, line) WHERE outcome = 'pending';

      -- The daily run: each batch date settled, with the report's batch or none (nothing settled that day).
      CREATE TABLE settlement.days (
        connector text NOT NULL,
        batch_date date NOT NULL,
        batch_number bigint,
        settled_at_ms bigint NOT NULL,
        PRIMARY KEY (connector, batch_date)
      );`,
  },
  {
    // Stripe's test clocks (test mode only): a merchant's simulated time, for the objects attached to it.
    // And row-level security on the report lines, which name merchants (the system role reads them all).
    id: 'settlement/002_test_clocks',
    sql: `
      CREATE TABLE settlement.test_clocks (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        deletes_after bigint NOT NULL,
        frozen_time bigint NOT NULL,
        name text,
        status text NOT NULL CHECK (status IN ('advancing', 'internal_failure', 'ready')),
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      ${merchantScopedTables(['settlement.report_lines', 'settlement.test_clocks'])}`,
  },
  {
    // A Chargeback line of the processor's report: the disputed amount it took back from a settlement.
    id: 'settlement/003_chargeback_settlement',
    sql: `INSERT INTO ledger.transfer_kinds (kind) VALUES ('chargeback_settlement') ON CONFLICT DO NOTHING;`,
  },
  {
    // Reports are staged in short statements, not one transaction (app/stage-report.ts): a report is
    // `staging` (possibly partial, never posted) until its last line has been read and checked.
    id: 'settlement/004_reports_staging',
    sql: `
      ALTER TABLE settlement.reports DROP CONSTRAINT reports_status_check, DROP CONSTRAINT reports_lines_check,
        ADD CONSTRAINT reports_status_known CHECK (status IN ('staging', 'staged', 'posted')),
        ADD CONSTRAINT reports_lines_counted CHECK (lines >= 0);`,
  },
];

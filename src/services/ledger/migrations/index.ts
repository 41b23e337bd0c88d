import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';
import { connectLedgerMigration } from './connect.js';
import { fxLedgerMigration } from './fx.js';
import { balanceCheckPlansMigration, balanceChecksByIndexMigration } from './check-plans.js';

/**
 * The ledger's schema. The database itself holds the two rules no code path may break: postings
 * are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), and every transfer's postings sum
 * to zero in one currency with at least two of them: a constraint trigger deferred to commit checks
 * each transfer written, and a statement trigger checks every statement that writes postings (so
 * a transfer's postings are written together, in one statement, with or after the transfer).
 */
export const ledgerMigrations: Migration[] = [
  {
    id: 'ledger/001_init',
    sql: `
      CREATE SCHEMA IF NOT EXISTS ledger;

      -- Per-merchant terms; a merchant without a row gets the defaults in code (2.9% + 30, 2 days).
      CREATE TABLE ledger.merchant_terms (
        merchant_id text PRIMARY KEY,
        fee_percent_bps int NOT NULL CHECK (fee_percent_bps BETWEEN 0 AND 10000),
        fee_fixed bigint NOT NULL CHECK (fee_fixed BETWEEN 0 AND 1000000),
        settlement_delay_s bigint NOT NULL CHECK (settlement_delay_s BETWEEN 0 AND 5184000),
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      -- Running totals per account, updated once per account per batch. Both sides are kept (never
      -- negative); the balance is their difference in the account's normal direction.
      CREATE TABLE ledger.accounts (
        merchant_id text NOT NULL,
        currency text NOT NULL,
        code text NOT NULL CHECK (code IN ('processor_receivable', 'merchant_pending', 'merchant_available', 'platform_fees', 'refunds_in_flight', 'payouts_in_transit')),
        normal text NOT NULL CHECK (normal IN ('debit', 'credit')),
        debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
        credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
        PRIMARY KEY (merchant_id, currency, code)
      );

      CREATE TABLE ledger.transfers (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        currency text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('capture', 'release', 'refund', 'refund_paid', 'refund_failure', 'adjustment')),
        source_id text COLLATE "C" NOT NULL,
        cause_event_id text NOT NULL,
        cause_type text NOT NULL,
        created bigint NOT NULL,
        available_on bigint,
        -- The merchant-facing view of the postings (balance transaction net and fee), checked by verify.
        net bigint NOT NULL,
        fee bigint NOT NULL,
        posted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (merchant_id, id)
      );
      -- One transfer of each kind per source: a second capture of one charge cannot exist. The source
      -- leads, so this index never competes with the primary key for (merchant_id, id) lookups: a
      -- plan cached while the table was small once picked it and scanned a hot merchant's every row.
      CREATE UNIQUE INDEX transfers_by_source ON ledger.transfers (source_id, merchant_id, kind);

      CREATE TABLE ledger.postings (
        merchant_id text NOT NULL,
        transfer_id text COLLATE "C" NOT NULL,
        index smallint NOT NULL CHECK (index >= 0),
        currency text NOT NULL,
        account text NOT NULL,
        -- Signed minor units: positive debits the account, negative credits it.
        amount bigint NOT NULL CHECK (amount <> 0),
        PRIMARY KEY (merchant_id, transfer_id, index)
      );

      -- Captures whose net is still pending, by the time it becomes available.
      CREATE TABLE ledger.releases (
        merchant_id text NOT NULL,
        transfer_id text COLLATE "C" NOT NULL,
        available_on bigint NOT NULL,
        PRIMARY KEY (merchant_id, transfer_id)
      );
      CREATE INDEX releases_due ON ledger.releases (available_on);

      CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger_append_only: % on ledger.% is refused; post a reversing transfer instead', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END $$;
      CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON ledger.postings FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
      CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON ledger.postings FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
      CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON ledger.transfers FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
      CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON ledger.transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

      -- Checked at commit, once per transfer written: it has two or more postings, all in its
      -- currency, summing to zero. Deferred, so a transaction may write a transfer before its postings.
      CREATE FUNCTION ledger.check_transfer_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        total numeric;
        n int;
        off_currency int;
      BEGIN
        -- COLLATE "C" as the id columns are, so the primary key serves the lookup.
        SELECT coalesce(sum(amount), 0), count(*), count(*) FILTER (WHERE currency <> NEW.currency)
          INTO total, n, off_currency
          FROM ledger.postings WHERE merchant_id = NEW.merchant_id AND transfer_id = NEW.id COLLATE "C";
        IF total <> 0 OR n < 2 OR off_currency > 0 THEN
          RAISE EXCEPTION 'ledger_unbalanced: transfer % has % postings summing to % (% in another currency)', NEW.id, n, total, off_currency
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER transfers_balanced AFTER INSERT ON ledger.transfers
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_transfer_balanced();

      -- Checked at the end of every statement that writes postings, once per statement: each transfer
      -- it touched exists, gets all its postings from this one statement (none can be added later, even
      -- balanced), and is balanced as above. One call per statement, not one per posting.
      CREATE FUNCTION ledger.check_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        bad record;
      BEGIN
        SELECT touched.transfer_id, t.id IS NULL AS missing, s.n > touched.written AS added_to, s.total, s.n, s.off_currency INTO bad
          FROM (SELECT merchant_id, transfer_id, count(*) AS written FROM new_postings GROUP BY merchant_id, transfer_id) touched
          LEFT JOIN ledger.transfers t ON t.merchant_id = touched.merchant_id AND t.id = touched.transfer_id COLLATE "C"
          CROSS JOIN LATERAL (
            SELECT coalesce(sum(p.amount), 0) AS total, count(*) AS n, count(*) FILTER (WHERE p.currency IS DISTINCT FROM t.currency) AS off_currency
            FROM ledger.postings p WHERE p.merchant_id = touched.merchant_id AND p.transfer_id = touched.transfer_id COLLATE "C") s
          WHERE t.id IS NULL OR s.n > touched.written OR s.total <> 0 OR s.n < 2 OR s.off_currency > 0
          LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'ledger_unbalanced: postings for transfer % %: % postings summing to %, % in another currency',
            bad.transfer_id, CASE WHEN bad.missing THEN 'that does not exist' WHEN bad.added_to THEN 'added to the ones it had' ELSE 'leave it unbalanced' END,
            bad.n, bad.total, bad.off_currency
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER postings_balanced AFTER INSERT ON ledger.postings
        REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_postings_balanced();`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's rows (platform/rls.ts).
    id: 'ledger/002_row_level_security',
    sql: merchantScopedTables(['ledger.merchant_terms', 'ledger.accounts', 'ledger.transfers', 'ledger.postings', 'ledger.releases']),
  },
  {
    // The chart and the transfer kinds as tables, so a service that adds money flows (payouts,
    // settlement, disputes) adds rows in its own migration instead of rewriting one CHECK list.
    id: 'ledger/003_extensible_chart',
    sql: `
      CREATE TABLE ledger.account_codes (code text PRIMARY KEY, normal text NOT NULL CHECK (normal IN ('debit', 'credit')));
      INSERT INTO ledger.account_codes (code, normal) VALUES
        ('processor_receivable', 'debit'), ('merchant_pending', 'credit'), ('merchant_available', 'credit'),
        ('platform_fees', 'credit'), ('refunds_in_flight', 'credit'), ('payouts_in_transit', 'credit');
      ALTER TABLE ledger.accounts DROP CONSTRAINT accounts_code_check,
        ADD CONSTRAINT accounts_code_known FOREIGN KEY (code) REFERENCES ledger.account_codes (code);

      CREATE TABLE ledger.transfer_kinds (kind text PRIMARY KEY);
      INSERT INTO ledger.transfer_kinds (kind) VALUES
        ('capture'), ('release'), ('refund'), ('refund_paid'), ('refund_failure'), ('adjustment');
      ALTER TABLE ledger.transfers DROP CONSTRAINT transfers_kind_check,
        ADD CONSTRAINT transfers_kind_known FOREIGN KEY (kind) REFERENCES ledger.transfer_kinds (kind);`,
  },
  {
    // Money out: the processor's settlements land in settlement_cash net of processor_fees, and
    // payouts leave from it; Payrail's margin is platform_fees less processor_fees.
    id: 'ledger/004_settlement_accounts',
    sql: `INSERT INTO ledger.account_codes (code, normal) VALUES ('settlement_cash', 'debit'), ('processor_fees', 'debit');`,
  },
  // Connect: the clearing account, the transfer kinds and the connected side of each movement (connect.ts).
  connectLedgerMigration,
  // FX: conversion at capture and its accounts (fx.ts).
  fxLedgerMigration,
  // The balance checks' lookups planned per call, not per session (check-plans.ts).
  balanceCheckPlansMigration,
  // …and then by index from plans kept for the connection (check-plans.ts).
  balanceChecksByIndexMigration,
];

import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * Payouts: the merchant's bank accounts (the account number sealed by the vault, under the KMS
 * purpose `bank_accounts`), its payout schedule, its payouts and the balance transactions each
 * automatic payout settled; and the sandbox bank's record of what it was asked to pay.
 */
export const payoutMigrations: Migration[] = [
  {
    id: 'settlement/100_payouts',
    sql: `
      INSERT INTO ledger.transfer_kinds (kind) VALUES ('payout'), ('payout_paid'), ('payout_failure'), ('payout_cancel') ON CONFLICT DO NOTHING;
      CREATE TABLE settlement.bank_accounts (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        currency text NOT NULL,
        default_for_currency boolean NOT NULL,
        -- Everything but the account number, as rendered (last4, fingerprint, routing number, holder).
        state jsonb NOT NULL,
        -- The account number, sealed by the vault; opened only to pay out, never rendered.
        sealed_number bytea NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      -- One default per currency, checked at commit: a new default and the old one stepping down are one statement.
      ALTER TABLE settlement.bank_accounts ADD CONSTRAINT bank_accounts_one_default
        EXCLUDE USING btree (merchant_id WITH =, currency WITH =) WHERE (default_for_currency) DEFERRABLE INITIALLY DEFERRED;
      CREATE TABLE settlement.payout_schedules (
        merchant_id text PRIMARY KEY,
        interval text NOT NULL CHECK (interval IN ('manual', 'daily', 'weekly', 'monthly')),
        delay_days int NOT NULL CHECK (delay_days BETWEEN 0 AND 60),
        weekly_anchor text,
        monthly_anchor int CHECK (monthly_anchor BETWEEN 1 AND 31),
        version int NOT NULL
      );
      CREATE TABLE settlement.payouts (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        currency text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'in_transit', 'paid', 'failed', 'canceled')),
        destination text NOT NULL,
        arrival_date bigint NOT NULL,
        -- The UTC day of the scheduled run an automatic payout belongs to; null for manual payouts.
        run_date date,
        -- An automatic payout settles the balance transactions available in (covers_after, created].
        covers_after bigint,
        state jsonb NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      -- One automatic payout per merchant, currency and run: a run repeated after a crash finds it.
      CREATE UNIQUE INDEX payouts_one_per_run ON settlement.payouts (merchant_id, currency, run_date) WHERE run_date IS NOT NULL;
      -- The bank worker's queue: payouts not yet paid or failed.
      CREATE INDEX payouts_in_flight ON settlement.payouts (created) WHERE status IN ('pending', 'in_transit');
      CREATE TABLE settlement.payout_transactions (
        merchant_id text NOT NULL,
        balance_transaction text COLLATE "C" NOT NULL,
        payout_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (merchant_id, balance_transaction)
      );
      CREATE INDEX payout_transactions_by_payout ON settlement.payout_transactions (merchant_id, payout_id);
      ${merchantScopedTables(['settlement.bank_accounts', 'settlement.payout_schedules', 'settlement.payouts', 'settlement.payout_transactions'])}
      -- The sandbox bank's own books (not Payrail's): one transfer per payout id, however often asked.
      CREATE TABLE settlement.sandbox_bank_transfers (
        payout_id text PRIMARY KEY,
        merchant_id text NOT NULL,
        amount bigint NOT NULL,
        currency text NOT NULL,
        account_last4 text NOT NULL,
        outcome text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    // The sandbox bank's rows carry a merchant id too, so the request path's role sees only its own.
    id: 'settlement/101_sandbox_bank_scoped',
    sql: merchantScopedTables(['settlement.sandbox_bank_transfers']),
  },
];

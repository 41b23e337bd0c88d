import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Renewals, dunning and test clocks.
 *
 * - `billing.renewals`: one row per subscription period billed. Its primary key is the guard that
 *   makes a renewal happen once per period whatever runs it (two schedulers, a retry after a crash):
 *   it is inserted in the same statement as the period's invoice. While the invoice is being
 *   collected, `next_attempt_at` says when the next payment try is due (the dunning schedule), or,
 *   `exhausted`, when the end of dunning is; `attempts_seen` is the invoice's `attempt_count` the row
 *   has acted on.
 * - `billing.trial_notices`: `customer.subscription.trial_will_end` sent, once per subscription and trial end.
 * - `billing.dunning_settings`: a merchant's retry schedule and end states (absent: Stripe's defaults).
 * - A subscription's first invoice and its first cycle invoice share a `period_start` (Stripe's invoice
 *   period is the one before), so billing/002's one-invoice-per-period index becomes one first invoice
 *   per subscription and one cycle invoice per period start.
 * - Test clocks move here from settlement: advancing one now runs billing work. `billed_to` is the
 *   clock time up to which that work has run; `frozen_time` is the target while `advancing`.
 */
export const renewalsMigration: Migration = {
  id: 'billing/004_renewals',
  sql: `
    DROP INDEX billing.invoices_one_per_period;
    CREATE UNIQUE INDEX invoices_one_first ON billing.invoices (merchant_id, subscription_id)
      WHERE subscription_id IS NOT NULL AND billing_reason = 'subscription_create';
    CREATE UNIQUE INDEX invoices_one_per_period ON billing.invoices (merchant_id, subscription_id, period_start)
      WHERE subscription_id IS NOT NULL AND billing_reason = 'subscription_cycle';

    ALTER TABLE settlement.test_clocks SET SCHEMA billing;
    ALTER TABLE billing.test_clocks ADD COLUMN billed_to bigint;
    UPDATE billing.test_clocks SET billed_to = frozen_time;
    ALTER TABLE billing.test_clocks ALTER COLUMN billed_to SET NOT NULL,
      ADD CONSTRAINT test_clocks_billed_within CHECK (billed_to <= frozen_time);
    CREATE INDEX test_clocks_advancing ON billing.test_clocks (merchant_id, id) WHERE status = 'advancing';

    CREATE TABLE billing.renewals (
      merchant_id text NOT NULL,
      subscription_id text COLLATE "C" NOT NULL,
      period_start bigint NOT NULL,
      invoice_id text COLLATE "C",
      test_clock text COLLATE "C",
      first_try_at bigint NOT NULL,
      attempts_seen int NOT NULL CHECK (attempts_seen >= 0),
      next_attempt_at bigint,
      state text NOT NULL CHECK (state IN ('collecting', 'exhausted', 'paid', 'ended', 'none')),
      version int NOT NULL CHECK (version >= 1),
      PRIMARY KEY (merchant_id, subscription_id, period_start),
      CHECK ((state IN ('collecting', 'exhausted')) = (next_attempt_at IS NOT NULL)),
      CHECK (state = 'none' OR invoice_id IS NOT NULL)
    );
    CREATE INDEX renewals_due ON billing.renewals (next_attempt_at) WHERE next_attempt_at IS NOT NULL AND test_clock IS NULL;
    CREATE INDEX renewals_due_on_clock ON billing.renewals (merchant_id, test_clock, next_attempt_at)
      WHERE next_attempt_at IS NOT NULL AND test_clock IS NOT NULL;
    CREATE INDEX renewals_by_invoice ON billing.renewals (merchant_id, invoice_id) WHERE invoice_id IS NOT NULL;

    -- The trial notice sweep reads trialing subscriptions by their trial's end.
    CREATE INDEX subscriptions_trial_end ON billing.subscriptions (((state->>'trial_end')::bigint)) WHERE status = 'trialing';
    CREATE TABLE billing.trial_notices (
      merchant_id text NOT NULL,
      subscription_id text COLLATE "C" NOT NULL,
      trial_end bigint NOT NULL,
      sent_at bigint NOT NULL,
      PRIMARY KEY (merchant_id, subscription_id, trial_end)
    );

    CREATE TABLE billing.dunning_settings (
      merchant_id text PRIMARY KEY,
      retry_days int[] NOT NULL CHECK (cardinality(retry_days) <= 7),
      subscription_end text NOT NULL CHECK (subscription_end IN ('cancel', 'unpaid', 'past_due')),
      invoice_end text NOT NULL CHECK (invoice_end IN ('uncollectible', 'open')),
      version int NOT NULL CHECK (version >= 1)
    );
    ${merchantScoped('billing.renewals')}
    ${merchantScoped('billing.trial_notices')}
    ${merchantScoped('billing.dunning_settings')}`,
};

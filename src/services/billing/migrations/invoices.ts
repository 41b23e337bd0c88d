import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Invoices keep the whole object (with its lines: at most 250, changed only with the invoice under its
 * version) in `state`; the columns beside it are what lists filter on and what the database checks.
 * Invoice items live on their own: pending (no invoice) until an invoice takes them. The number
 * counter is one row per merchant, moved by the finalizing statement itself under a guard on its
 * previous value, so numbers are gapless: a rolled-back finalization takes no number. A subscription
 * bills each period once: (subscription_id, period_start) is unique among its cycle invoices.
 */
export const invoicesMigration: Migration = {
  id: 'billing/002_invoices',
  sql: `
    CREATE SCHEMA IF NOT EXISTS billing;
    CREATE TABLE billing.invoices (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      customer_id text COLLATE "C" NOT NULL,
      subscription_id text COLLATE "C",
      status text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void')),
      collection_method text NOT NULL CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
      billing_reason text NOT NULL,
      number text COLLATE "C",
      currency text NOT NULL,
      amount_due bigint NOT NULL CHECK (amount_due >= 0),
      amount_paid bigint NOT NULL CHECK (amount_paid >= 0 AND amount_paid <= amount_due),
      period_start bigint NOT NULL,
      due_date bigint,
      created bigint NOT NULL,
      version int NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id),
      CHECK ((status = 'draft') = (number IS NULL))
    );
    CREATE UNIQUE INDEX invoices_by_id ON billing.invoices (id);
    CREATE UNIQUE INDEX invoices_by_number ON billing.invoices (merchant_id, number) WHERE number IS NOT NULL;
    CREATE UNIQUE INDEX invoices_one_per_period ON billing.invoices (merchant_id, subscription_id, period_start)
      WHERE subscription_id IS NOT NULL AND billing_reason IN ('subscription_create', 'subscription_cycle');
    CREATE INDEX invoices_by_customer ON billing.invoices (merchant_id, customer_id, id);
    CREATE INDEX invoices_by_subscription ON billing.invoices (merchant_id, subscription_id, id) WHERE subscription_id IS NOT NULL;
    CREATE INDEX invoices_by_status ON billing.invoices (merchant_id, status, id);

    CREATE TABLE billing.invoice_items (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      customer_id text COLLATE "C" NOT NULL,
      invoice_id text COLLATE "C",
      currency text NOT NULL,
      amount bigint NOT NULL,
      created bigint NOT NULL,
      version int NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id)
    );
    CREATE INDEX invoice_items_pending ON billing.invoice_items (merchant_id, customer_id, id) WHERE invoice_id IS NULL;
    CREATE INDEX invoice_items_by_invoice ON billing.invoice_items (merchant_id, invoice_id, id) WHERE invoice_id IS NOT NULL;

    CREATE TABLE billing.invoice_numbers (
      merchant_id text PRIMARY KEY,
      prefix text NOT NULL CHECK (prefix ~ '^[0-9A-Z]{3,12}$'),
      last_sequence bigint NOT NULL CHECK (last_sequence >= 1)
    );
    ${merchantScoped('billing.invoices')}
    ${merchantScoped('billing.invoice_items')}
    ${merchantScoped('billing.invoice_numbers')}`,
};

import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';
import { setupAndTokenMigrations } from './setup-and-tokens.js';
import { reviewMigrations } from './reviews.js';
import { customerTestClockMigration } from './customer-test-clock.js';

/**
 * Each table keeps the whole object in `state` and copies out the columns that queries filter on and
 * that the database must check: money never goes out of range, whatever code writes it. `state` is
 * json rather than jsonb: it is never queried inside, and json skips the binary conversion on the
 * payments hot path.
 */
export const paymentMigrations: Migration[] = [
  {
    id: 'payments/001_init',
    sql: `
      CREATE SCHEMA IF NOT EXISTS payments;
      CREATE TABLE payments.payment_intents (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        customer_id text,
        status text NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        amount_received bigint NOT NULL CHECK (amount_received >= 0 AND amount_received <= amount),
        currency text NOT NULL,
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX payment_intents_by_customer ON payments.payment_intents (merchant_id, customer_id, id) WHERE customer_id IS NOT NULL;

      CREATE TABLE payments.charges (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        payment_intent_id text NOT NULL,
        customer_id text,
        status text NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        amount_captured bigint NOT NULL CHECK (amount_captured >= 0 AND amount_captured <= amount),
        amount_refunded bigint NOT NULL CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
        currency text NOT NULL,
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX charges_by_intent ON payments.charges (merchant_id, payment_intent_id, id);

      CREATE TABLE payments.refunds (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        payment_intent_id text NOT NULL,
        status text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        created bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX refunds_by_charge ON payments.refunds (merchant_id, charge_id, id);
      CREATE INDEX refunds_by_intent ON payments.refunds (merchant_id, payment_intent_id, id);

      CREATE TABLE payments.customers (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        email text,
        deleted boolean NOT NULL DEFAULT false,
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX customers_by_email ON payments.customers (merchant_id, email, id) WHERE email IS NOT NULL;`,
  },
  {
    id: 'payments/002_processor_calls',
    sql: `
      -- The journal of calls to a processor that move money (authorize, refund), written durably
      -- before the call: a call whose answer was lost (crash, timeout) is found here and settled by a
      -- status inquiry, never by a second authorization. 'pending' until its answer is recorded.
      CREATE TABLE payments.processor_calls (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        kind text NOT NULL CHECK (kind IN ('authorize', 'refund')),
        payment_intent_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'answered')),
        -- The process lease of the caller (src/platform/write/lease.ts): once it is gone, nobody waits for the answer.
        holder_lease int,
        created_ms bigint NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX processor_calls_pending ON payments.processor_calls (created_ms) WHERE status = 'pending';`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's rows (platform/rls.ts).
    id: 'payments/011_row_level_security',
    sql: merchantScopedTables(['payments.payment_intents', 'payments.charges', 'payments.refunds', 'payments.customers', 'payments.processor_calls']),
  },
  ...setupAndTokenMigrations,
  ...reviewMigrations,
  customerTestClockMigration,
];

import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * SetupIntents, the cards they set up for later payments, and card tokens. Keyed by merchant first,
 * like every payments table and under row-level security (platform/rls.ts); `state` holds the whole
 * object, the columns what queries filter on.
 */
export const setupAndTokenMigrations: Migration[] = [
  {
    id: 'payments/004_setup_intents_and_tokens',
    sql: `
      CREATE TABLE payments.setup_intents (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        customer_id text,
        payment_method_id text,
        status text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'succeeded', 'canceled')),
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX setup_intents_by_customer ON payments.setup_intents (merchant_id, customer_id, id) WHERE customer_id IS NOT NULL;
      CREATE INDEX setup_intents_by_payment_method ON payments.setup_intents (merchant_id, payment_method_id, id) WHERE payment_method_id IS NOT NULL;

      -- A card set up for later payments (by a SetupIntent, or a payment with setup_future_usage): the
      -- processor's id of the attempt that verified it, named as the stored credential off session.
      CREATE TABLE payments.card_setups (
        merchant_id text NOT NULL,
        payment_method_id text COLLATE "C" NOT NULL,
        initial_attempt_id text NOT NULL,
        created bigint NOT NULL,
        PRIMARY KEY (merchant_id, payment_method_id)
      );

      -- Card tokens (tok_…): the card itself is in the vault, as the PaymentMethod the token stands for.
      -- A token is used once; used flips in the same statement as the payment or PaymentMethod it made.
      CREATE TABLE payments.tokens (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        card_id text COLLATE "C" NOT NULL,
        payment_method_id text NOT NULL,
        used boolean NOT NULL DEFAULT false,
        created bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX tokens_by_card ON payments.tokens (merchant_id, card_id);
      ${merchantScopedTables(['payments.setup_intents', 'payments.card_setups', 'payments.tokens'])}`,
  },
  {
    id: 'payments/005_setup_attempts',
    sql: `
      -- Each verification of a SetupIntent's card (setatt_…), listed by GET /v1/setup_attempts.
      CREATE TABLE payments.setup_attempts (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        setup_intent_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('requires_action', 'succeeded', 'failed')),
        created bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX setup_attempts_by_intent ON payments.setup_attempts (merchant_id, setup_intent_id, id);
      ${merchantScopedTables(['payments.setup_attempts'])}`,
  },
];

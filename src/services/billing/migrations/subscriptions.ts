import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Subscriptions keep the whole object, items included, in `state`; the columns beside it are what
 * lists filter on and what the renewal sweep reads. Items have a table of their own as well — the
 * subscription's commit writes both under the subscription's version — for `/v1/subscription_items`
 * and the `price` filter. The renewal sweep spans merchants: it reads subscriptions whose period has
 * ended by its end, among the ones still billed.
 */
export const subscriptionsMigration: Migration = {
  id: 'billing/003_subscriptions',
  sql: `
    CREATE SCHEMA IF NOT EXISTS billing;
    CREATE TABLE billing.subscriptions (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      customer_id text COLLATE "C" NOT NULL,
      status text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'canceled')),
      collection_method text NOT NULL CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
      current_period_start bigint NOT NULL,
      current_period_end bigint NOT NULL CHECK (current_period_end > current_period_start),
      test_clock text,
      created bigint NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id)
    );
    CREATE INDEX subscriptions_by_customer ON billing.subscriptions (merchant_id, customer_id, id);
    CREATE INDEX subscriptions_by_status ON billing.subscriptions (merchant_id, status, id);
    CREATE INDEX subscriptions_due ON billing.subscriptions (current_period_end)
      WHERE status IN ('trialing', 'active', 'past_due', 'unpaid');
    CREATE INDEX subscriptions_incomplete ON billing.subscriptions (created) WHERE status = 'incomplete';
    CREATE TABLE billing.subscription_items (
      merchant_id text NOT NULL,
      id text COLLATE "C" NOT NULL,
      subscription_id text COLLATE "C" NOT NULL,
      price_id text COLLATE "C" NOT NULL,
      quantity bigint NOT NULL CHECK (quantity >= 0),
      created bigint NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (merchant_id, id),
      UNIQUE (merchant_id, subscription_id, price_id) DEFERRABLE INITIALLY DEFERRED,
      FOREIGN KEY (merchant_id, subscription_id) REFERENCES billing.subscriptions (merchant_id, id)
    );
    CREATE INDEX subscription_items_by_subscription ON billing.subscription_items (merchant_id, subscription_id, id);
    CREATE INDEX subscription_items_by_price ON billing.subscription_items (merchant_id, price_id, subscription_id);
    ${merchantScoped('billing.subscriptions')}
    ${merchantScoped('billing.subscription_items')}`,
};

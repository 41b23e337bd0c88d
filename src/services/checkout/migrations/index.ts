import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Sessions keep the whole object in `state`; `status` and `expires_at` are copied out for the expiry
 * sweep. Ids are unique on their own too: the hosted page knows a session by its id alone.
 */
export const checkoutMigrations: Migration[] = [
  {
    id: 'checkout/001_sessions',
    sql: `
      CREATE SCHEMA IF NOT EXISTS checkout;
      CREATE TABLE checkout.sessions (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
        payment_intent_id text,
        customer_id text,
        expires_at bigint NOT NULL,
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX sessions_by_id ON checkout.sessions (id);
      CREATE INDEX sessions_open_by_expiry ON checkout.sessions (expires_at) WHERE status = 'open';
      CREATE INDEX sessions_by_payment_intent ON checkout.sessions (merchant_id, payment_intent_id) WHERE payment_intent_id IS NOT NULL;
      CREATE INDEX sessions_by_customer ON checkout.sessions (merchant_id, customer_id, id) WHERE customer_id IS NOT NULL;`,
  },
  {
    // Row-level security: the request path's role sees only the current merchant's sessions (platform/rls.ts).
    id: 'checkout/002_row_level_security',
    sql: merchantScoped('checkout.sessions'),
  },
];

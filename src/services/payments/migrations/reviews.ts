import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Radar reviews (prv_…): one per payment a rule placed in review. `open` is copied out because
 * `GET /v1/reviews` lists the open ones; the partial index keeps that list a range scan.
 */
export const reviewMigrations: Migration[] = [
  {
    id: 'payments/012_reviews',
    sql: `
      CREATE TABLE payments.reviews (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        payment_intent_id text NOT NULL,
        open boolean NOT NULL,
        created bigint NOT NULL,
        version int NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX open_reviews ON payments.reviews (merchant_id, id) WHERE open;
      CREATE UNIQUE INDEX reviews_by_charge ON payments.reviews (merchant_id, charge_id);
      ${merchantScoped('payments.reviews')}`,
  },
];

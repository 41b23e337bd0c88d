import type { Migration } from '../../../platform/migrations.js';

/**
 * A customer created on a test clock keeps its id here (and in `state`): `GET /v1/customers` lists a
 * clock's customers only when asked (`test_clock=`), and the others without them, as Stripe does.
 */
export const customerTestClockMigration: Migration = {
  id: 'payments/013_customer_test_clock',
  sql: `
    ALTER TABLE payments.customers ADD COLUMN test_clock text;
    CREATE INDEX customers_by_test_clock ON payments.customers (merchant_id, test_clock, id) WHERE test_clock IS NOT NULL;`,
};

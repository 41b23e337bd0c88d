import type { Migration } from '../../../platform/migrations.js';

/**
 * The indexes the dashboard's payment search needs to stay an index scan at 100,000 payments per
 * merchant (docs/dashboard.md, "Payments and money"). Every one leads with merchant_id, as row-level
 * security filters by it. Each costs a little on the payment write path, so only the filters the
 * dashboard offers have one; amount and created ranges walk the status or key index otherwise.
 */
export const dashboardPaymentMigrations: Migration[] = [
  {
    id: 'payments/020_dashboard_search',
    sql: `
      CREATE INDEX payment_intents_by_status ON payments.payment_intents (merchant_id, status, id);
      CREATE INDEX payment_intents_by_amount ON payments.payment_intents (merchant_id, amount, id);
      CREATE INDEX payment_intents_by_created ON payments.payment_intents (merchant_id, created, id);
      CREATE INDEX payment_intents_by_receipt_email ON payments.payment_intents (merchant_id, lower(state ->> 'receipt_email'))
        WHERE state ->> 'receipt_email' IS NOT NULL;
      CREATE INDEX payment_intents_by_metadata ON payments.payment_intents USING gin (((state -> 'metadata')::jsonb));
      CREATE INDEX customers_by_lower_email ON payments.customers (merchant_id, lower(email)) WHERE email IS NOT NULL;
      CREATE INDEX charges_by_created ON payments.charges (merchant_id, created);
      CREATE INDEX charges_by_card_last4 ON payments.charges (merchant_id, (state -> 'card' ->> 'last4'), payment_intent_id);
      -- A payment's timeline reads the events of its intent, charges and refunds: without this, every
      -- detail page would scan the merchant's whole outbox.
      CREATE INDEX outbox_by_object ON events.outbox (merchant_id, object_id);`,
  },
];

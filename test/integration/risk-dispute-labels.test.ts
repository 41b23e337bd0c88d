import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disputeLabelRows } from '../../src/risk-labels.js';
import { FEATURE_NAMES } from '../../src/services/risk/domain/features.js';
import { createMigratedPool, type MigratedDatabase } from '../support/database.js';

/**
 * `train.mjs --labels-from-db`: the installation's charges become training rows, labelled by the
 * disputes opened as `fraudulent` (a won dispute is no label), replayed through the scorer's features.
 */
const T0 = 1_790_000_000;
let db: MigratedDatabase;

async function insertCharge(id: string, created: number, overrides: Record<string, unknown> = {}): Promise<void> {
  const state = {
    id,
    amount: 5000,
    currency: 'usd',
    status: 'succeeded',
    customer: null,
    receipt_email: null,
    billing_details: { email: 'buyer@example.com', address: null, name: null, phone: null },
    outcome: { type: 'authorized' },
    card: { fingerprint: 'fpLabels1', last4: '4242', brand: 'visa', country: 'US', funding: 'credit', cvc_check: 'pass', exp_month: 1, exp_year: 2030 },
    ...overrides,
  };
  await db.pool.query(
    `INSERT INTO payments.charges (merchant_id, id, payment_intent_id, customer_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)
     VALUES ('acct_labels', $1, 'pi_labels', NULL, $2, $3, 0, 0, $4, $5, 1, $6)`,
    [id, state.status, state.amount, state.currency, created, JSON.stringify(state)],
  );
}

async function insertDispute(id: string, charge_id: string, status: string, created: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO disputes.disputes (merchant_id, id, charge_id, status, reason, amount, created, opened_by, version, state)
     VALUES ('acct_labels', $1, $2, $3, 'fraudulent', 5000, $4, $1, 1, '{}')`,
    [id, charge_id, status, created],
  );
}

beforeAll(async () => {
  db = await createMigratedPool(2);
  await insertCharge('ch_labels_1', T0);
  await insertCharge('ch_labels_2', T0 + 60);
  await insertCharge('ch_labels_3', T0 + 120, { status: 'failed', outcome: { type: 'issuer_declined' } });
  await insertCharge('ch_labels_won', T0 + 180, {
    card: { fingerprint: 'fpLabels2', last4: '1111', brand: 'visa', country: 'GB', funding: 'debit', cvc_check: 'pass' },
  });
  await insertCharge('ch_labels_brl', T0 + 240, { currency: 'brl' });
  await insertDispute('dp_labels_lost', 'ch_labels_2', 'lost', T0 + 86_400);
  await insertDispute('dp_labels_won', 'ch_labels_won', 'won', T0 + 86_400);
});

afterAll(async () => {
  await db.drop();
});

describe('fraud labels from disputes', () => {
  it('labels the charges disputed as fraud (not those whose dispute was won) and replays them in time order', async () => {
    const { rows, charges, fraud } = await disputeLabelRows(db.pool, 0);
    expect(charges).toBe(4); // the brl charge has no USD rate and is left out
    expect(fraud).toBe(1);
    expect(Array.from(rows.labels)).toEqual([0, 1, 0, 0]);
    expect(rows.created_ms).toEqual([T0, T0 + 60, T0 + 120, T0 + 180].map((s) => s * 1000));
    const per_card_hourly = FEATURE_NAMES.indexOf('log_charges_per_card_hourly');
    expect(rows.rows.map((row) => Math.round(Math.expm1(row[per_card_hourly] ?? 0)))).toEqual([0, 1, 2, 0]);
  });

  it('reads only charges from `since` on', async () => {
    const { charges } = await disputeLabelRows(db.pool, T0 + 100);
    expect(charges).toBe(2);
  });
});

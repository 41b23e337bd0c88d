import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { chargeBalanceTransactionId, refundBalanceTransactionId } from '../../src/services/ledger/domain/ids.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { ledgerRecords } from '../../src/services/payments/index.js';

const clock = new ManualClock(Date.now());
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  await t?.stop();
});

const TWO_DAYS_MS = 2 * 86_400 * 1000;
const WAIT_LIMIT_MS = 10_000;

/** Waits until the ledger has consumed every committed event. */
async function ledgerCaughtUp(): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while ((await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) {
    if (Date.now() > deadline) throw new Error('the ledger did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function balanceOf(stripe: Stripe): Promise<{ available: number; pending: number }> {
  const balance = await stripe.balance.retrieve();
  expect(stripeSchemaProblems('balance', balance)).toEqual([]);
  return { available: balance.available[0]?.amount ?? NaN, pending: balance.pending[0]?.amount ?? NaN };
}

async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const value = await read();
    try {
      expect(value).toEqual(expected);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('balance and balance transactions from the ledger', () => {
  let charge_id: string;
  let charge_created: number;

  it('a captured payment is pending, net of the 2.9% + 30 fee, with its balance transaction', async () => {
    expect(await balanceOf(t.stripe)).toEqual({ available: 0, pending: 0 });
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    charge_id = charge.id;
    charge_created = charge.created;
    await ledgerCaughtUp();
    expect(await balanceOf(t.stripe)).toEqual({ available: 0, pending: 1912 });

    const list = await t.stripe.balanceTransactions.list({ limit: 10 });
    expect(list.data).toHaveLength(1);
    const txn = list.data[0]!;
    expect(txn).toMatchObject({
      id: chargeBalanceTransactionId(charge),
      object: 'balance_transaction',
      type: 'charge',
      reporting_category: 'charge',
      amount: 2000,
      fee: 88,
      net: 1912,
      currency: 'usd',
      status: 'pending',
      source: charge.id,
      fee_details: [{ amount: 88, currency: 'usd', type: 'stripe_fee', application: null, description: 'Payrail processing fees' }],
    });
    expect(txn.available_on - txn.created).toBe(2 * 86_400);
    expect(stripeSchemaProblems('balance_transaction', txn)).toEqual([]);

    // Once payments renders it (a derived id), the charge names this balance transaction.
    if (charge.balance_transaction !== null) expect(charge.balance_transaction).toBe(txn.id);
    const expanded = await t.stripe.balanceTransactions.retrieve(txn.id, { expand: ['source'] });
    expect((expanded.source as Stripe.Charge).id).toBe(charge.id);
    expect(stripeSchemaProblems('balance_transaction', expanded)).toEqual([]);
  });

  it('a partial capture posts what was captured; a refund takes from available, which may go negative', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    await ledgerCaughtUp();
    expect(await balanceOf(t.stripe)).toEqual({ available: 0, pending: 1912 }); // an authorization moves nothing
    await t.stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1000 });
    const refund = await t.stripe.refunds.create({ charge: charge_id, amount: 500 });
    await ledgerCaughtUp();
    expect(await balanceOf(t.stripe)).toEqual({ available: -500, pending: 1912 + 941 });

    const refunds = await t.stripe.balanceTransactions.list({ type: 'refund' });
    expect(refunds.data).toHaveLength(1);
    expect(refunds.data[0]).toMatchObject({
      id: refundBalanceTransactionId(refund),
      amount: -500,
      fee: 0,
      net: -500,
      status: 'available',
      source: refund.id,
      fee_details: [],
    });
    expect(stripeSchemaProblems('balance_transaction', refunds.data[0])).toEqual([]);
    const of_charge = await t.stripe.balanceTransactions.list({ source: chargeIdOf(intent) });
    expect(of_charge.data.map((x) => [x.type, x.amount, x.fee])).toEqual([['charge', 1000, 59]]);
    const all = await t.stripe.balanceTransactions.list({ limit: 2 });
    expect(all.has_more).toBe(true);
    const rest = await t.stripe.balanceTransactions.list({ limit: 2, starting_after: all.data[1]!.id });
    expect(new Set([...all.data, ...rest.data].map((x) => x.id)).size).toBe(3);
  });

  it('after the settlement delay on the clock, pending becomes available', async () => {
    clock.advance(TWO_DAYS_MS + 1000);
    await eventually(() => balanceOf(t.stripe), { available: 1912 + 941 - 500, pending: 0 });
    const charge_txn = await t.stripe.balanceTransactions.retrieve(chargeBalanceTransactionId({ id: charge_id, created: charge_created }));
    expect(charge_txn.status).toBe('available');
    const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ charges: 2, refunds: 1 });
  });

  it('keeps merchants apart: another merchant sees a zero balance and no transactions', async () => {
    const other = await t.newMerchant();
    expect(await balanceOf(other.stripe)).toEqual({ available: 0, pending: 0 });
    expect((await other.stripe.balanceTransactions.list()).data).toEqual([]);
    const mine = (await t.stripe.balanceTransactions.list({ limit: 1 })).data[0]!;
    await expect(other.stripe.balanceTransactions.retrieve(mine.id)).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    await expect(t.stripe.balanceTransactions.list({ currency: 'nope' } as never)).rejects.toMatchObject({ statusCode: 400, code: 'currency_invalid' });
  });
});

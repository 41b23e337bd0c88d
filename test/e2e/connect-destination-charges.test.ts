import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { merchantWithManualPayouts } from '../support/connect.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { rejection } from '../support/stripe-errors.js';
import { ledgerCaughtUp, waitFor } from '../support/payouts.js';

/**
 * Destination charges through the official SDK: a platform charges with transfer_data and an
 * application fee; the capture makes one transfer and one application fee, moves the destination's
 * share into its pending balance, and releases both sides after their settlement delays. Manual
 * captures, retried confirms and racing captures make one transfer; fee refunds move the fee back;
 * bad input changes nothing; `ledger verify` is clean after all of it.
 */

const DAY_MS = 86_400_000;
const clock = new ManualClock(Date.now());
const now_s = () => Math.floor(clock.now_ms() / 1000);
let t: TestPlatform;
let platform_id: string;
let driver: { id: string; stripe: Stripe };
let stranger: { id: string; stripe: Stripe };

async function balances(stripe: Stripe): Promise<{ available: number; pending: number }> {
  const balance = await stripe.balance.retrieve();
  const of = (rows: { currency: string; amount: number }[]) => rows.find((b) => b.currency === 'usd')?.amount ?? 0;
  return { available: of(balance.available), pending: of(balance.pending) };
}

/** An expandable field's id, as the SDK types it (a string unless expanded). */
function idOf(value: string | { id: string } | null | undefined): string {
  return typeof value === 'string' ? value : (value?.id ?? '');
}

async function count(table: string, where = 'true', values: unknown[] = []): Promise<number> {
  const result = await t.owner.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, values);
  return (result.rows[0] as { n: number }).n;
}

async function eventTypesFor(id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data.filter((e) => (e.data.object as { id?: string }).id === id).map((e) => e.type);
}

function destinationCharge(params: Partial<Stripe.PaymentIntentCreateParams> = {}, options?: Stripe.RequestOptions) {
  return t.stripe.paymentIntents.create(
    { amount: 10_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, transfer_data: { destination: driver.id }, ...params },
    options,
  );
}

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  platform_id = (await t.stripe.accounts.retrieve()).id;
  await t.stripe.accounts.update(platform_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  driver = await merchantWithManualPayouts(t);
  stranger = await merchantWithManualPayouts(t);
  await t.owner.query('UPDATE merchants.merchants SET platform_id = $1 WHERE id = $2', [platform_id, driver.id]);
});
afterAll(async () => {
  await t?.stop();
});

describe('a destination charge with an application fee', () => {
  let intent: Stripe.PaymentIntent;
  let charge: Stripe.Charge;

  it('shows its terms on the PaymentIntent and the transfer and fee on the charge at once', async () => {
    intent = await destinationCharge({ application_fee_amount: 1230, transfer_group: 'ride_7' });
    expect(stripeSchemaProblems('payment_intent', intent)).toEqual([]);
    expect(intent).toMatchObject({ status: 'succeeded', application_fee_amount: 1230, transfer_data: { destination: driver.id }, transfer_group: 'ride_7' });
    charge = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    expect(charge).toMatchObject({ application_fee_amount: 1230, transfer_data: { amount: null, destination: driver.id }, transfer_group: 'ride_7' });
    expect(charge.transfer).toMatch(/^tr_/);
    expect(charge.application_fee).toMatch(/^fee_/);
  });

  it('makes one application fee for the platform, listed by charge, with its event', async () => {
    await ledgerCaughtUp(t);
    const fee = await t.stripe.applicationFees.retrieve(idOf(charge.application_fee));
    expect(stripeSchemaProblems('application_fee', fee)).toEqual([]);
    expect(fee).toMatchObject({
      object: 'application_fee',
      amount: 1230,
      amount_refunded: 0,
      account: driver.id,
      charge: charge.id,
      currency: 'usd',
      refunded: false,
    });
    const listed = await t.stripe.applicationFees.list({ charge: charge.id });
    expect(listed.data.map((f) => f.id)).toEqual([fee.id]);
    expect(await eventTypesFor(fee.id)).toEqual(['application_fee.created']);
    expect(await eventTypesFor(idOf(charge.transfer))).toEqual(['transfer.created']);
    // The connected account sees none of the platform's fees.
    expect((await driver.stripe.applicationFees.list()).data).toEqual([]);
  });

  it('moves the destination’s share into its pending balance, as a payment balance transaction', async () => {
    expect(await balances(driver.stripe)).toEqual({ available: 0, pending: 8770 });
    const payments = await driver.stripe.balanceTransactions.list({ type: 'payment' });
    expect(payments.data).toHaveLength(1);
    expect(payments.data[0]).toMatchObject({ amount: 8770, net: 8770, fee: 0, source: charge.transfer, status: 'pending', reporting_category: 'charge' });
    const transfers = await t.stripe.balanceTransactions.list({ type: 'transfer' });
    expect(transfers.data.map((b) => ({ amount: b.amount, source: b.source }))).toEqual([{ amount: -8770, source: charge.transfer }]);
    const capture = await t.stripe.balanceTransactions.retrieve(idOf(charge.balance_transaction));
    // The platform bears Payrail's fee and keeps the application fee: its pending is the rest.
    expect(await balances(t.stripe)).toEqual({ available: 0, pending: capture.net - 8770 });
  });

  it('releases each side after its settlement delay', async () => {
    const capture = await t.stripe.balanceTransactions.retrieve(idOf(charge.balance_transaction));
    clock.advance(3 * DAY_MS);
    await waitFor(async () => (await balances(driver.stripe)).pending === 0 && (await balances(t.stripe)).pending === 0, 'the releases');
    expect(await balances(driver.stripe)).toEqual({ available: 8770, pending: 0 });
    expect(await balances(t.stripe)).toEqual({ available: capture.net - 8770, pending: 0 });
  });
});

describe('manual capture, retries and races', () => {
  it('transfers transfer_data[amount] only once captured, with no application fee', async () => {
    const intent = await destinationCharge({ capture_method: 'manual', transfer_data: { destination: driver.id, amount: 4000 } });
    expect(intent.transfer_data).toEqual({ destination: driver.id, amount: 4000 });
    const authorized = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    expect(stripeSchemaProblems('charge', authorized)).toEqual([]);
    expect(authorized).toMatchObject({ application_fee: null, transfer_data: { amount: 4000, destination: driver.id } });
    expect(authorized).not.toHaveProperty('transfer');
    const before = await balances(driver.stripe);
    await t.stripe.paymentIntents.capture(intent.id);
    await ledgerCaughtUp(t);
    const captured = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    expect(captured.transfer).toMatch(/^tr_/);
    expect(captured.application_fee).toBeNull();
    expect(await balances(driver.stripe)).toEqual({ ...before, pending: before.pending + 4000 });
    expect(await count('connect_charges.application_fees', 'charge_id = $1', [captured.id])).toBe(0);
  });

  it('a confirm retried with its Idempotency-Key makes one transfer', async () => {
    const options = { idempotencyKey: `dest-retry-${now_s()}` };
    const first = await destinationCharge({ application_fee_amount: 100 }, options);
    const again = await destinationCharge({ application_fee_amount: 100 }, options);
    expect(again.id).toBe(first.id);
    await ledgerCaughtUp(t);
    const charge_id = idOf(first.latest_charge);
    expect(await count('connect_charges.destination_transfers', 'charge_id = $1', [charge_id])).toBe(1);
    expect(await count('connect_charges.application_fees', 'charge_id = $1', [charge_id])).toBe(1);
  });

  it('two racing captures make one capture and one transfer', async () => {
    const intent = await destinationCharge({ capture_method: 'manual', application_fee_amount: 300 });
    const results = await Promise.allSettled([t.stripe.paymentIntents.capture(intent.id), t.stripe.paymentIntents.capture(intent.id)]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    await ledgerCaughtUp(t);
    const charge = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    const source = idOf(charge.transfer);
    expect(await count('ledger.transfers', "source_id = $1 AND kind = 'connect_transfer'", [source])).toBe(1);
    expect(await count('ledger.transfers', "source_id = $1 AND kind = 'connect_payment'", [source])).toBe(1);
    expect(await count('connect_charges.application_fees', 'charge_id = $1', [charge.id])).toBe(1);
  });
});

describe('application fee refunds', () => {
  it('gives part of the fee back to the connected account, then refuses more than is left', async () => {
    const intent = await destinationCharge({ application_fee_amount: 1000 });
    await ledgerCaughtUp(t);
    const fee_id = idOf((await t.stripe.charges.retrieve(idOf(intent.latest_charge))).application_fee);
    const driver_before = await balances(driver.stripe);
    const platform_before = await balances(t.stripe);
    const refund = await t.stripe.applicationFees.createRefund(fee_id, { amount: 400, metadata: { reason: 'late' } });
    expect(stripeSchemaProblems('fee_refund', refund)).toEqual([]);
    expect(refund).toMatchObject({ object: 'fee_refund', amount: 400, fee: fee_id, currency: 'usd', metadata: { reason: 'late' } });
    expect(refund.id).toMatch(/^fr_/);
    expect(await balances(driver.stripe)).toEqual({ ...driver_before, available: driver_before.available + 400 });
    expect(await balances(t.stripe)).toEqual({ ...platform_before, available: platform_before.available - 400 });
    const fee = await t.stripe.applicationFees.retrieve(fee_id);
    expect(fee).toMatchObject({ amount_refunded: 400, refunded: false });
    expect(fee.refunds.data.map((r) => r.id)).toEqual([refund.id]);
    expect((await t.stripe.applicationFees.listRefunds(fee_id)).data.map((r) => r.id)).toEqual([refund.id]);
    expect(await t.stripe.applicationFees.retrieveRefund(fee_id, refund.id)).toMatchObject({ id: refund.id, amount: 400 });
    const updated = await t.stripe.applicationFees.updateRefund(fee_id, refund.id, { metadata: { note: 'x' } });
    expect(updated.metadata).toEqual({ reason: 'late', note: 'x' });
    expect(await eventTypesFor(fee_id)).toEqual(['application_fee.refunded', 'application_fee.created']);

    const too_much = await rejection(t.stripe.applicationFees.createRefund(fee_id, { amount: 601 }));
    expect(too_much).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(await count('connect_charges.fee_refunds', 'fee_id = $1', [fee_id])).toBe(1);
    const rest = await t.stripe.applicationFees.createRefund(fee_id);
    expect(rest.amount).toBe(600);
    expect(await t.stripe.applicationFees.retrieve(fee_id)).toMatchObject({ amount_refunded: 1000, refunded: true });
  });

  it('answers Stripe’s 404 for a fee of another merchant', async () => {
    const fees = await t.stripe.applicationFees.list({ limit: 1 });
    const missing = await rejection(stranger.stripe.applicationFees.retrieve(fees.data[0]?.id ?? 'fee_x'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('refunds of a destination charge', () => {
  it('reverse the transfer and refund the fee in proportion when asked, exactly in full by the last one', async () => {
    const intent = await destinationCharge({ application_fee_amount: 1000 });
    await ledgerCaughtUp(t);
    const charge = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    const driver_before = await balances(driver.stripe);
    const platform_before = await balances(t.stripe);
    const refund = await t.stripe.refunds.create({ charge: charge.id, amount: 2500, reverse_transfer: true, refund_application_fee: true });
    expect(stripeSchemaProblems('refund', refund)).toEqual([]);
    expect(refund.transfer_reversal).toMatch(/^trr_/);
    await ledgerCaughtUp(t);
    // A quarter of the charge: a quarter of the 9000 transferred comes back, a quarter of the 1000 fee goes out.
    expect(await balances(driver.stripe)).toEqual({ ...driver_before, available: driver_before.available - 2250 + 250 });
    expect(await balances(t.stripe)).toEqual({ ...platform_before, available: platform_before.available - 2500 + 2250 - 250 });
    const fee_id = idOf(charge.application_fee);
    expect(await t.stripe.applicationFees.retrieve(fee_id)).toMatchObject({ amount_refunded: 250, refunded: false });
    expect(await eventTypesFor(idOf(charge.transfer))).toEqual(['transfer.reversed', 'transfer.created']);

    await t.stripe.refunds.create({ charge: charge.id, amount: 3333, reverse_transfer: true, refund_application_fee: true });
    await t.stripe.refunds.create({ charge: charge.id, reverse_transfer: true, refund_application_fee: true });
    await ledgerCaughtUp(t);
    expect(await t.stripe.applicationFees.retrieve(fee_id)).toMatchObject({ amount_refunded: 1000, refunded: true });
    const reversed = await t.owner.query('SELECT amount_reversed FROM connect_charges.destination_transfers WHERE charge_id = $1', [charge.id]);
    expect(Number((reversed.rows[0] as { amount_reversed: unknown }).amount_reversed)).toBe(9000);
    expect(await balances(driver.stripe)).toEqual({ ...driver_before, available: driver_before.available - 9000 + 1000 });
  });

  it('without them, the platform bears the refund', async () => {
    const intent = await destinationCharge({ application_fee_amount: 500 });
    await ledgerCaughtUp(t);
    const driver_before = await balances(driver.stripe);
    const platform_before = await balances(t.stripe);
    const refund = await t.stripe.refunds.create({ payment_intent: intent.id, amount: 4000 });
    expect(refund.transfer_reversal).toBeNull();
    await ledgerCaughtUp(t);
    expect(await balances(driver.stripe)).toEqual(driver_before);
    expect(await balances(t.stripe)).toEqual({ ...platform_before, available: platform_before.available - 4000 });
  });

  it('refuses reverse_transfer and refund_application_fee where there is nothing to take back, storing nothing', async () => {
    const plain = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const no_fee = await destinationCharge({ amount: 1000 });
    const refunds_before = await count('payments.refunds');
    const reverse = await rejection(t.stripe.refunds.create({ payment_intent: plain.id, reverse_transfer: true }));
    expect(reverse).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'reverse_transfer' });
    const fee = await rejection(t.stripe.refunds.create({ payment_intent: no_fee.id, refund_application_fee: true }));
    expect(fee).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'refund_application_fee' });
    expect(await count('payments.refunds')).toBe(refunds_before);
  });
});

describe('bad input', () => {
  it('refuses with Stripe’s errors and stores nothing', async () => {
    const intents_before = await count('payments.payment_intents');
    const not_ours = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', transfer_data: { destination: stranger.id } }));
    expect(not_ours).toMatchObject({ statusCode: 404, type: 'StripeInvalidRequestError', code: 'resource_missing', param: 'transfer_data[destination]' });
    const unknown = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', transfer_data: { destination: 'acct_nope' } }));
    expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'transfer_data[destination]' });
    const fee_too_big = await rejection(destinationCharge({ amount: 1000, application_fee_amount: 1001 }));
    expect(fee_too_big).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'application_fee_amount' });
    const transfer_too_big = await rejection(destinationCharge({ amount: 1000, transfer_data: { destination: driver.id, amount: 1001 } }));
    expect(transfer_too_big).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'transfer_data[amount]' });
    const both = await rejection(destinationCharge({ application_fee_amount: 10, transfer_data: { destination: driver.id, amount: 100 } }));
    expect(both).toMatchObject({ statusCode: 400, code: 'parameters_exclusive' });
    const fee_alone = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', application_fee_amount: 10 }));
    expect(fee_alone).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'application_fee_amount' });
    const euro = await rejection(destinationCharge({ currency: 'eur' }));
    expect(euro).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'currency' });
    const behalf = await rejection(t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', on_behalf_of: driver.id }));
    expect(behalf).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'on_behalf_of' });
    expect(await count('payments.payment_intents')).toBe(intents_before);
  });

  it('lets an update change the fee but never past the amount', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      transfer_data: { destination: driver.id },
      application_fee_amount: 100,
    });
    const updated = await t.stripe.paymentIntents.update(intent.id, { application_fee_amount: 250, transfer_group: 'g2' });
    expect(updated).toMatchObject({ application_fee_amount: 250, transfer_group: 'g2', transfer_data: { destination: driver.id } });
    const too_big = await rejection(t.stripe.paymentIntents.update(intent.id, { amount: 200 }));
    expect(too_big).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'application_fee_amount' });
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).amount).toBe(2000);
  });
});

describe('the destination charge’s transfer as a /v1/transfers object', () => {
  it('is retrieved and listed, refuses direct reversals and shows a refund’s reverse_transfer', async () => {
    const intent = await destinationCharge({ application_fee_amount: 1500, transfer_group: 'ride_9' });
    await ledgerCaughtUp(t);
    const charge = await t.stripe.charges.retrieve(idOf(intent.latest_charge));
    const transfer = await t.stripe.transfers.retrieve(idOf(charge.transfer));
    expect(stripeSchemaProblems('transfer', transfer)).toEqual([]);
    expect(transfer).toMatchObject({ amount: 8500, amount_reversed: 0, currency: 'usd', destination: driver.id, reversed: false });
    expect(transfer).toMatchObject({ source_transaction: charge.id, transfer_group: 'ride_9' });
    expect(transfer.destination_payment).toMatch(/^py_/);
    const platform_txn = await t.stripe.balanceTransactions.retrieve(idOf(transfer.balance_transaction));
    expect(platform_txn).toMatchObject({ amount: -8500, type: 'transfer' });
    const listed = await t.stripe.transfers.list({ destination: driver.id, limit: 100 });
    expect(listed.data.map((listed_transfer) => listed_transfer.id)).toContain(transfer.id);

    // Reversed only through the charge's refunds (reverse_transfer), which count what was taken back.
    const refused = await rejection(t.stripe.transfers.createReversal(transfer.id, { amount: 100 }));
    expect(refused).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'parameter_invalid', param: 'id' });
    expect(await count('connect.transfer_reversals', 'transfer_id = $1', [transfer.id])).toBe(0);

    await t.stripe.refunds.create({ charge: charge.id, amount: 5000, reverse_transfer: true });
    await ledgerCaughtUp(t);
    const reversed = await t.stripe.transfers.retrieve(transfer.id);
    expect(stripeSchemaProblems('transfer', reversed)).toEqual([]);
    expect(reversed).toMatchObject({ amount: 8500, amount_reversed: 4250, reversed: false });
  });
});

describe('the books', () => {
  it('ledger verify is clean and connect_transfers sums to zero', async () => {
    await ledgerCaughtUp(t);
    const report = await verifyLedger(t.platform.database.pool, now_s(), ledgerRecords);
    expect(report.problems).toEqual([]);
    const clearing = await t.owner.query(`SELECT sum(debits_posted - credits_posted)::bigint AS total FROM ledger.accounts WHERE code = 'connect_transfers'`);
    expect(Number((clearing.rows[0] as { total: unknown }).total)).toBe(0);
  });
});

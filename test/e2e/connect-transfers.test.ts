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
import { bankAccount, ledgerCaughtUp, waitFor } from '../support/payouts.js';

/**
 * Separate charges and transfers through the official SDK: a platform funds its available balance
 * (pm_card_bypassPending), transfers to its connected accounts, reverses, lists; both sides' balances
 * and balance transactions, the events, bad input that changes nothing, idempotent retries, races for
 * the last of the balance, and `ledger verify` clean after all of it. The clock stands still.
 */

const clock = new ManualClock(Date.now());
const now_s = () => Math.floor(clock.now_ms() / 1000);
let t: TestPlatform;
let platform_id: string;
/** Connected accounts of the platform, each with its own key. */
let driver: { id: string; stripe: Stripe };
let courier: { id: string; stripe: Stripe };
/** A merchant that is not the platform's. */
let stranger: { id: string; stripe: Stripe };

/** Makes `account` a connected account of the platform, as POST /v1/accounts would have. */
async function connect(account: { id: string }, currency = 'usd'): Promise<void> {
  await t.owner.query('UPDATE merchants.merchants SET platform_id = $1, default_currency = $2 WHERE id = $3', [platform_id, currency, account.id]);
}

async function available(stripe: Stripe, currency = 'usd'): Promise<number> {
  const balance = await stripe.balance.retrieve();
  return balance.available.find((b) => b.currency === currency)?.amount ?? 0;
}

/** Card payments whose funds are available at once; waits for the ledger to post them. */
async function fund(amount: number): Promise<void> {
  const before = await available(t.stripe);
  await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
  await ledgerCaughtUp(t);
  await waitFor(async () => (await available(t.stripe)) > before, 'the funds to be available');
}

async function eventsFor(id: string): Promise<Stripe.Event[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data.filter((e) => (e.data.object as { id?: string }).id === id).reverse();
}

async function transferCount(): Promise<number> {
  const result = await t.owner.query('SELECT count(*)::int AS n FROM connect.transfers');
  return (result.rows[0] as { n: number }).n;
}

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  platform_id = (await t.stripe.accounts.retrieve()).id;
  await t.stripe.accounts.update(platform_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  driver = await merchantWithManualPayouts(t);
  courier = await merchantWithManualPayouts(t);
  stranger = await merchantWithManualPayouts(t);
  await connect(driver);
  await connect(courier);
  await fund(20_000);
});
afterAll(async () => {
  await t?.stop();
});

describe('transfers to a connected account', () => {
  it('moves money from the platform’s available balance to the destination’s, with Stripe’s objects', async () => {
    const platform_before = await available(t.stripe);
    const transfer = await t.stripe.transfers.create({
      amount: 3000,
      currency: 'usd',
      destination: driver.id,
      transfer_group: 'ride_1',
      description: 'Ride 1',
      metadata: { ride: '1' },
    });
    expect(stripeSchemaProblems('transfer', transfer)).toEqual([]);
    expect(transfer).toMatchObject({
      object: 'transfer',
      amount: 3000,
      amount_reversed: 0,
      currency: 'usd',
      destination: driver.id,
      reversed: false,
      transfer_group: 'ride_1',
      description: 'Ride 1',
      metadata: { ride: '1' },
      source_type: 'card',
      source_transaction: null,
      reversals: { object: 'list', data: [], has_more: false, url: `/v1/transfers/${transfer.id}/reversals` },
    });
    expect(transfer.id).toMatch(/^tr_/);
    expect(transfer.destination_payment).toMatch(/^py_/);
    expect(await available(t.stripe)).toBe(platform_before - 3000);
    expect(await available(driver.stripe)).toBe(3000);

    const sent = await t.stripe.balanceTransactions.retrieve(transfer.balance_transaction as string, { expand: ['source'] });
    expect(sent.source).toEqual(transfer);
    expect(sent).toMatchObject({
      type: 'transfer',
      amount: -3000,
      net: -3000,
      fee: 0,
      reporting_category: 'transfer',
      status: 'available',
    });
    const received = await driver.stripe.balanceTransactions.list({ limit: 5 });
    expect(received.data).toHaveLength(1);
    expect(received.data[0]).toMatchObject({ type: 'payment', amount: 3000, net: 3000, source: transfer.destination_payment, reporting_category: 'charge' });
    expect(await t.stripe.transfers.retrieve(transfer.id)).toEqual(transfer);
    expect((await eventsFor(transfer.id)).map((e) => e.type)).toEqual(['transfer.created']);
  });

  it('updates description and metadata, with transfer.updated naming what changed', async () => {
    const transfer = await t.stripe.transfers.create({ amount: 100, currency: 'usd', destination: courier.id, metadata: { a: '1' } });
    const updated = await t.stripe.transfers.update(transfer.id, { description: 'Tip', metadata: { a: '', b: '2' } });
    expect(updated).toMatchObject({ description: 'Tip', metadata: { b: '2' }, amount: 100 });
    const events = await eventsFor(transfer.id);
    expect(events.map((e) => e.type)).toEqual(['transfer.created', 'transfer.updated']);
    expect(events[1]?.data.previous_attributes).toEqual({ description: null, metadata: { a: '1' } });
    expect(await t.stripe.transfers.retrieve(transfer.id)).toEqual(updated);
  });

  it('lists newest first, filtered by destination, transfer_group and created, with cursors', async () => {
    const a = await t.stripe.transfers.create({ amount: 10, currency: 'usd', destination: courier.id, transfer_group: 'order_9' });
    const b = await t.stripe.transfers.create({ amount: 20, currency: 'usd', destination: driver.id, transfer_group: 'order_9' });
    const group = await t.stripe.transfers.list({ transfer_group: 'order_9' });
    expect(group.data.map((x) => x.id)).toEqual([b.id, a.id]);
    const to_courier = await t.stripe.transfers.list({ destination: courier.id, limit: 100 });
    expect(to_courier.data.every((x) => x.destination === courier.id)).toBe(true);
    expect(to_courier.data[0]?.id).toBe(a.id);
    const first = await t.stripe.transfers.list({ limit: 1 });
    expect(first).toMatchObject({ has_more: true, url: '/v1/transfers' });
    const next = await t.stripe.transfers.list({ limit: 1, starting_after: first.data[0]!.id });
    expect(next.data[0]?.id).toBe(a.id);
    const later = await t.stripe.transfers.list({ created: { gt: now_s() } });
    expect(later.data).toEqual([]);
  });
});

describe('with a connected account made through /v1/accounts', () => {
  it('pays an account created by the platform, whose balance the platform reads with Stripe-Account', async () => {
    const account = await t.stripe.accounts.create({ type: 'custom', country: 'US', capabilities: { transfers: { requested: true } } });
    const as_account = { stripeAccount: account.id };
    const transfer = await t.stripe.transfers.create({ amount: 250, currency: 'usd', destination: account.id, transfer_group: 'order_77' });
    const balance = await t.stripe.balance.retrieve(as_account);
    expect(balance.available.find((b) => b.currency === 'usd')?.amount).toBe(250);
    const received = await t.stripe.balanceTransactions.list({ limit: 10 }, as_account);
    expect(received.data.map((x) => [x.type, x.amount, x.source])).toEqual([['payment', 250, transfer.destination_payment]]);
    // Acting as the account, the platform's transfers are not there, and it has no accounts to pay.
    expect((await t.stripe.transfers.list({}, as_account)).data).toEqual([]);
    const onward = await rejection(t.stripe.transfers.create({ amount: 1, currency: 'usd', destination: driver.id }, as_account));
    expect(onward).toMatchObject({ statusCode: 404, param: 'destination' });
    await t.stripe.transfers.createReversal(transfer.id);
    const emptied = await t.stripe.balance.retrieve(as_account);
    expect(emptied.available.find((b) => b.currency === 'usd')?.amount).toBe(0);
  });
});

describe('reversals', () => {
  it('reverses part, then the rest, from the destination’s available balance, never more than was sent', async () => {
    const transfer = await t.stripe.transfers.create({ amount: 1500, currency: 'usd', destination: courier.id });
    const platform_before = await available(t.stripe);
    const courier_before = await available(courier.stripe);
    const partial = await t.stripe.transfers.createReversal(transfer.id, { amount: 500, metadata: { why: 'cancelled stop' } });
    expect(stripeSchemaProblems('transfer_reversal', partial)).toEqual([]);
    expect(partial).toMatchObject({ object: 'transfer_reversal', amount: 500, currency: 'usd', transfer: transfer.id, metadata: { why: 'cancelled stop' } });
    expect(partial.id).toMatch(/^trr_/);
    expect(partial.destination_payment_refund).toMatch(/^pyr_/);
    expect(await available(t.stripe)).toBe(platform_before + 500);
    expect(await available(courier.stripe)).toBe(courier_before - 500);
    const back = await t.stripe.balanceTransactions.retrieve(partial.balance_transaction as string, { expand: ['source'] });
    expect(back.source).toEqual(partial);
    expect(back).toMatchObject({ type: 'transfer_refund', amount: 500, reporting_category: 'transfer_reversal' });
    const courier_side = await courier.stripe.balanceTransactions.list({ type: 'payment_refund' });
    expect(courier_side.data.map((x) => [x.amount, x.source])).toEqual([[-500, partial.destination_payment_refund]]);

    const half = await t.stripe.transfers.retrieve(transfer.id);
    expect(half).toMatchObject({ amount_reversed: 500, reversed: false });
    expect(half.reversals.data.map((r) => r.id)).toEqual([partial.id]);

    const rest = await t.stripe.transfers.createReversal(transfer.id);
    expect(rest.amount).toBe(1000);
    const whole = await t.stripe.transfers.retrieve(transfer.id);
    expect(whole).toMatchObject({ amount_reversed: 1500, reversed: true });
    expect(whole.reversals.data.map((r) => r.id)).toEqual([rest.id, partial.id]);

    const again = await rejection(t.stripe.transfers.createReversal(transfer.id, { amount: 1 }));
    expect(again).toMatchObject({ statusCode: 400, param: 'amount' });
    expect(await available(courier.stripe)).toBe(courier_before - 1500);

    const events = await eventsFor(transfer.id);
    expect(events.map((e) => e.type)).toEqual(['transfer.created', 'transfer.reversed', 'transfer.reversed']);
    expect(events[2]?.data.object).toMatchObject({ amount_reversed: 1500, reversed: true });

    const listed = await t.stripe.transfers.listReversals(transfer.id, { limit: 1 });
    expect(listed).toMatchObject({ has_more: true, url: `/v1/transfers/${transfer.id}/reversals` });
    expect(listed.data[0]?.id).toBe(rest.id);
    const updated = await t.stripe.transfers.updateReversal(transfer.id, partial.id, { metadata: { note: 'x' } });
    expect(updated.metadata).toEqual({ why: 'cancelled stop', note: 'x' });
    expect(await t.stripe.transfers.retrieveReversal(transfer.id, partial.id)).toEqual(updated);
  });

  it('refuses more than is left, and a reversal the destination cannot cover, changing nothing', async () => {
    const seller = await merchantWithManualPayouts(t);
    await connect(seller);
    const transfer = await t.stripe.transfers.create({ amount: 400, currency: 'usd', destination: seller.id });
    const too_much = await rejection(t.stripe.transfers.createReversal(transfer.id, { amount: 401 }));
    expect(too_much).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    // The seller is paid out 300 of it: only 100 is left to take back.
    await bankAccount(seller.stripe, seller.id, '000123456789');
    await seller.stripe.payouts.create({ amount: 300, currency: 'usd' });
    const platform_before = await available(t.stripe);
    const short = await rejection(t.stripe.transfers.createReversal(transfer.id, { amount: 200 }));
    expect(short).toMatchObject({ statusCode: 400, code: 'balance_insufficient' });
    expect(await available(seller.stripe)).toBe(100);
    expect(await available(t.stripe)).toBe(platform_before);
    expect(await t.stripe.transfers.retrieve(transfer.id)).toMatchObject({ amount_reversed: 0, reversals: { data: [] } });
    const fits = await t.stripe.transfers.createReversal(transfer.id, { amount: 100 });
    expect(fits.amount).toBe(100);
    expect(await available(seller.stripe)).toBe(0);
  });
});

describe('bad input', () => {
  it('refuses an unknown destination, another platform’s account, a currency mismatch and too much, storing nothing', async () => {
    const count = await transferCount();
    const platform_before = await available(t.stripe);
    const unknown = await rejection(t.stripe.transfers.create({ amount: 100, currency: 'usd', destination: 'acct_nope' }));
    expect(unknown).toMatchObject({ statusCode: 404, rawType: 'invalid_request_error', code: 'resource_missing', param: 'destination' });
    expect(unknown.message).toBe("No such destination: 'acct_nope'");
    const not_ours = await rejection(t.stripe.transfers.create({ amount: 100, currency: 'usd', destination: stranger.id }));
    expect(not_ours).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'destination' });
    const itself = await rejection(t.stripe.transfers.create({ amount: 100, currency: 'usd', destination: platform_id }));
    expect(itself).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'destination' });
    const euro = await rejection(t.stripe.transfers.create({ amount: 100, currency: 'eur', destination: driver.id }));
    expect(euro).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'currency' });
    const too_much = await rejection(t.stripe.transfers.create({ amount: platform_before + 1, currency: 'usd', destination: driver.id }));
    expect(too_much).toMatchObject({ statusCode: 400, rawType: 'invalid_request_error', code: 'balance_insufficient' });
    expect(too_much.message).toMatch(/^You have insufficient available funds in your Payrail account/);
    const nothing = await rejection(t.stripe.transfers.create({ amount: 0, currency: 'usd', destination: driver.id }));
    expect(nothing).toMatchObject({ statusCode: 400, param: 'amount' });
    const unsupported = await rejection(t.stripe.transfers.create({ amount: 100, currency: 'usd', destination: driver.id, source_transaction: 'ch_123' }));
    expect(unsupported).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'source_transaction' });
    const missing = await rejection(t.stripe.transfers.retrieve('tr_missing'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await transferCount()).toBe(count);
    expect(await available(t.stripe)).toBe(platform_before);
  });

  it('keeps a connected account from seeing or reversing the platform’s transfers', async () => {
    const transfer = await t.stripe.transfers.create({ amount: 50, currency: 'usd', destination: driver.id });
    expect(await rejection(driver.stripe.transfers.retrieve(transfer.id))).toMatchObject({ statusCode: 404 });
    expect(await rejection(driver.stripe.transfers.createReversal(transfer.id))).toMatchObject({ statusCode: 404 });
    expect((await driver.stripe.transfers.list()).data).toEqual([]);
  });
});

describe('retries and races', () => {
  it('answers a retried Idempotency-Key with the same transfer, moving the money once', async () => {
    const before = await available(t.stripe);
    const params = { amount: 70, currency: 'usd', destination: courier.id };
    const first = await t.stripe.transfers.create(params, { idempotencyKey: 'transfer-once' });
    const second = await t.stripe.transfers.create(params, { idempotencyKey: 'transfer-once' });
    expect(second).toEqual(first);
    expect(await available(t.stripe)).toBe(before - 70);
    const reversal = await t.stripe.transfers.createReversal(first.id, { amount: 20 }, { idempotencyKey: 'reverse-once' });
    expect(await t.stripe.transfers.createReversal(first.id, { amount: 20 }, { idempotencyKey: 'reverse-once' })).toEqual(reversal);
    expect((await t.stripe.transfers.retrieve(first.id)).amount_reversed).toBe(20);
  });

  it('lets only the transfers that fit the balance succeed when many race for it', async () => {
    const balance = await available(t.stripe);
    const each = Math.floor(balance / 3) + 1; // two fit, a third would not
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => t.stripe.transfers.create({ amount: each, currency: 'usd', destination: i % 2 ? driver.id : courier.id })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(2);
    for (const r of refused) expect((r.reason as Stripe.errors.StripeError).code).toBe('balance_insufficient');
    expect(await available(t.stripe)).toBe(balance - 2 * each);
    expect(await available(t.stripe)).toBeGreaterThanOrEqual(0);
  });

  it('lets only one of two reversals racing for the same remainder succeed', async () => {
    const transfer = await t.stripe.transfers.create({ amount: 10, currency: 'usd', destination: driver.id });
    const results = await Promise.allSettled([t.stripe.transfers.createReversal(transfer.id), t.stripe.transfers.createReversal(transfer.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = await t.stripe.transfers.retrieve(transfer.id);
    expect(after).toMatchObject({ amount_reversed: 10, reversed: true });
    expect(after.reversals.data).toHaveLength(1);
  });

  it('lets only the reversals the destination’s balance covers succeed when they race, never taking it below zero', async () => {
    const seller = await merchantWithManualPayouts(t);
    await connect(seller);
    const a = await t.stripe.transfers.create({ amount: 300, currency: 'usd', destination: seller.id });
    const b = await t.stripe.transfers.create({ amount: 300, currency: 'usd', destination: seller.id });
    await bankAccount(seller.stripe, seller.id, '000123456789');
    await seller.stripe.payouts.create({ amount: 300, currency: 'usd' });
    // Each reversal alone fits the 300 left; both together would take the seller to -300.
    const results = await Promise.allSettled([t.stripe.transfers.createReversal(a.id), t.stripe.transfers.createReversal(b.id)]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0]?.reason as Stripe.errors.StripeError).code).toBe('balance_insufficient');
    expect(await available(seller.stripe)).toBe(0);
    const reversed = (await t.stripe.transfers.list({ destination: seller.id })).data.map((x) => x.amount_reversed);
    expect(reversed.sort()).toEqual([0, 300]);
  });

  it('leaves the ledger verified: every leg balanced, connect_transfers zero over the platform', async () => {
    await ledgerCaughtUp(t);
    const report = await verifyLedger(t.platform.database.pool, now_s(), ledgerRecords);
    expect(report.problems).toEqual([]);
    const clearing = await t.owner.query(
      `SELECT sum(debits_posted - credits_posted)::bigint AS total, count(*)::int AS n FROM ledger.accounts WHERE code = 'connect_transfers'`,
    );
    expect(Number((clearing.rows[0] as { total: unknown }).total)).toBe(0);
    expect((clearing.rows[0] as { n: number }).n).toBeGreaterThanOrEqual(3);
  });
});

import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { bankAccount, ledgerCaughtUp, payoutSettled, waitFor } from '../support/payouts.js';

/**
 * Issue 19's acceptance run, as a marketplace would use it through the official SDK: one platform,
 * a driver account it creates with a bank account, a destination charge with an application fee, a
 * separate transfer and its reversal, a charge in euros converted into dollars and partly refunded,
 * the driver's payout; then isolation between platforms, the bank number kept out of every response
 * and log line, and `ledger verify` clean with every clearing account summing to zero.
 */

const DAY_MS = 86_400_000;
const BANK_NUMBER = '000987654321';
const clock = new ManualClock(Date.now());
const now_s = () => Math.floor(clock.now_ms() / 1000);
let t: TestPlatform;
let driver_id: string;
/** The destination charge of the day's ride. */
let ride_charge_id: string;
/** Everything the platform answered, to search for the bank number. */
const answered: unknown[] = [];

/** The platform's key acting as `account` on every call (Stripe-Account). */
function actingAs(account: string, secret_key = TEST_SECRET_KEY): Stripe {
  return stripeClient(t.url, secret_key, account);
}

async function usdBalance(stripe: Stripe): Promise<{ available: number; pending: number }> {
  const balance = await stripe.balance.retrieve();
  const of = (rows: { currency: string; amount: number }[]) => rows.find((b) => b.currency === 'usd')?.amount ?? 0;
  return { available: of(balance.available), pending: of(balance.pending) };
}

async function clearingTotals(): Promise<Record<string, number>> {
  const { rows } = await t.owner.query<{ code: string; currency: string; total: string }>(
    `SELECT code, currency, sum(debits_posted - credits_posted)::text AS total FROM ledger.accounts
      WHERE code IN ('connect_transfers') GROUP BY code, currency`,
  );
  return Object.fromEntries(rows.map((row) => [`${row.code}/${row.currency}`, Number(row.total)]));
}

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  const platform_id = (await t.stripe.accounts.retrieve()).id;
  await t.stripe.accounts.update(platform_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  const driver = await t.stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true }, card_payments: { requested: true } } });
  driver_id = driver.id;
  await t.stripe.accounts.update(driver_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  answered.push(await bankAccount(t.stripe, driver_id, BANK_NUMBER));
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

describe('a marketplace day', () => {
  it('charges for the driver, tips, reverses, converts euros, refunds and pays the driver out', { timeout: 120_000 }, async () => {
    await t.stripe.paymentIntents.create({ amount: 50_000, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
    const ride = await t.stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      application_fee_amount: 2_000,
      transfer_data: { destination: driver_id },
      transfer_group: 'ride_1',
    });
    const ride_charge = await t.stripe.charges.retrieve(ride.latest_charge as string);
    expect(ride_charge.transfer).toMatch(/^tr_/);
    expect(ride_charge.application_fee).toMatch(/^fee_/);
    ride_charge_id = ride_charge.id;
    await t.stripe.refunds.create({ charge: ride_charge.id, amount: 1_000 });

    await ledgerCaughtUp(t);
    await waitFor(async () => (await usdBalance(t.stripe)).available > 0, 'the platform’s funds');
    const tip = await t.stripe.transfers.create({ amount: 1_500, currency: 'usd', destination: driver_id, transfer_group: 'ride_1' });
    await t.stripe.transfers.createReversal(tip.id, { amount: 500 });

    const euros = await t.stripe.paymentIntents.create({ amount: 4_000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
    await t.stripe.refunds.create({ payment_intent: euros.id, amount: 1_234 });
    await ledgerCaughtUp(t);
    const converted = await t.stripe.balanceTransactions.retrieve(
      (await t.stripe.charges.retrieve(euros.latest_charge as string)).balance_transaction as string,
    );
    expect(converted.currency).toBe('usd');
    expect(converted.exchange_rate).toBeGreaterThan(0);

    // The driver's pending share is released, then paid out once to its bank.
    clock.advance(3 * DAY_MS);
    const driver = actingAs(driver_id);
    await waitFor(async () => (await usdBalance(driver)).pending === 0, 'the driver’s share to be released');
    const { available } = await usdBalance(driver);
    expect(available).toBe(8_000 + 1_500 - 500);
    const payout = await driver.payouts.create({ amount: available, currency: 'usd' });
    expect((await payoutSettled(driver, payout.id)).status).toBe('paid');
    expect((await usdBalance(driver)).available).toBe(0);
    answered.push(payout, await t.stripe.accounts.retrieve(driver_id), await driver.events.list({ limit: 100 }));
    answered.push(await t.stripe.accounts.listExternalAccounts(driver_id), await driver.balanceTransactions.list({ limit: 100 }));
  });

  it('keeps the books: ledger verify clean, connect_transfers zero over the platform', async () => {
    await ledgerCaughtUp(t);
    const report = await verifyLedger(t.platform.database.pool, now_s(), ledgerRecords);
    expect(report.problems).toEqual([]);
    expect(report.counts.charges).toBeGreaterThanOrEqual(3);
    expect(await clearingTotals()).toEqual({ 'connect_transfers/usd': 0 });
  });
});

describe('isolation', () => {
  it('refuses Stripe-Account for another platform’s account, the platform itself, and an unknown id', async () => {
    const rival = await t.newMerchant();
    const rival_id = (await rival.stripe.accounts.retrieve()).id;
    for (const attempt of [actingAs(driver_id, rival.secret_key), actingAs(rival_id), actingAs('acct_1NoSuchAccount00000')]) {
      const refused = await rejection(attempt.balance.retrieve());
      expect(refused).toMatchObject({ statusCode: 403, rawType: 'invalid_request_error', code: 'account_invalid' });
      expect(refused.message).not.toContain(TEST_SECRET_KEY);
    }
    expect(await rejection(rival.stripe.accounts.retrieve(driver_id))).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    expect((await rival.stripe.accounts.list()).data).toEqual([]);
  });

  it('shows the driver’s payouts only acting as the driver', async () => {
    const payouts = await actingAs(driver_id).payouts.list();
    expect(payouts.data).toHaveLength(1);
    expect((await t.stripe.payouts.list()).data.map((p) => p.id)).not.toContain(payouts.data[0]!.id);
  });
});

describe('expanding Connect fields of a charge', () => {
  it('is refused rather than answered with the bare id, and expanding what payments can load still works', async () => {
    for (const field of ['transfer', 'application_fee', 'refunds.data.transfer_reversal']) {
      const refused = await rejection(t.stripe.charges.retrieve(ride_charge_id, { expand: [field] }));
      expect(refused).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'expand' });
      expect(refused.message).toBe(`This property cannot be expanded (${field}).`);
    }
    const expanded = await t.stripe.charges.retrieve(ride_charge_id, { expand: ['balance_transaction', 'application'] });
    expect((expanded.balance_transaction as Stripe.BalanceTransaction).object).toBe('balance_transaction');
  });
});

describe('secrets', () => {
  it('never answers or logs the driver’s bank account number, only its last four digits', () => {
    const text = JSON.stringify(answered);
    expect(text).toContain(`"last4":"${BANK_NUMBER.slice(-4)}"`);
    expect(text).not.toContain(BANK_NUMBER);
    expect(t.logs.join('\n')).not.toContain(BANK_NUMBER);
  });
});

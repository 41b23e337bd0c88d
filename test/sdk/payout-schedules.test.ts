import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { bankAccount, ledgerCaughtUp, payoutSettled, waitFor } from '../support/payouts.js';

/**
 * Automatic payouts on the merchant's schedule, driven by a movable clock: a daily schedule pays the
 * whole available balance once a day, weekly and monthly ones only on their anchor days, never twice
 * for one day, and `GET /v1/balance_transactions?payout=po_…` lists exactly what each one settled.
 */

const DAY_MS = 86_400_000;
const clock = new ManualClock(Date.UTC(2026, 0, 5, 12) /* Monday 5 January 2026, noon UTC */);
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  await t?.stop();
});

async function merchantWithSchedule(schedule: Stripe.AccountUpdateParams.Settings.Payouts.Schedule): Promise<Stripe> {
  const { stripe } = await t.newMerchant();
  const { id } = await stripe.accounts.retrieve();
  await stripe.accounts.update(id, { settings: { payouts: { schedule } } });
  await bankAccount(stripe, id, '000123456789');
  return stripe;
}

async function charge(stripe: Stripe, amount: number): Promise<void> {
  await stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
}

async function automaticPayouts(stripe: Stripe): Promise<Stripe.Payout[]> {
  const list = await stripe.payouts.list({ limit: 100 });
  return list.data.filter((p) => p.automatic).reverse();
}

async function available(stripe: Stripe): Promise<number> {
  return (await stripe.balance.retrieve()).available.find((b) => b.currency === 'usd')?.amount ?? 0;
}

/** Every balance transaction `?payout=` lists for the payout, all pages. */
async function settledBy(stripe: Stripe, payout_id: string): Promise<Stripe.BalanceTransaction[]> {
  const all: Stripe.BalanceTransaction[] = [];
  for await (const txn of stripe.balanceTransactions.list({ payout: payout_id, limit: 100 })) all.push(txn);
  return all;
}

/** One day: a charge, the ledger caught up, the clock a day on, and that day's scheduled run. */
async function day(stripes: Stripe[], amount: number): Promise<void> {
  for (const stripe of stripes) await charge(stripe, amount);
  await ledgerCaughtUp(t);
  clock.advance(DAY_MS);
  await t.platform.payouts.runSchedule();
}

describe('automatic payouts', () => {
  it('daily: the whole available balance once a day, and ?payout= lists exactly what it settled', async () => {
    const stripe = await merchantWithSchedule({ interval: 'daily' });
    const charge_ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const intent = await stripe.paymentIntents.create({ amount: 2_000 + i, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
      charge_ids.push(intent.latest_charge as string);
    }
    await ledgerCaughtUp(t);
    clock.advance(3 * DAY_MS);
    const released_net = (await stripe.balanceTransactions.list({ limit: 100 })).data.filter((b) => b.type === 'charge').reduce((sum, b) => sum + b.net, 0);
    await t.platform.payouts.runSchedule();
    const [payout, ...more] = await automaticPayouts(stripe);
    expect(more).toEqual([]);
    expect(stripeSchemaProblems('payout', payout)).toEqual([]);
    expect(payout).toMatchObject({ automatic: true, amount: released_net, currency: 'usd', reconciliation_status: 'completed' });
    expect(await available(stripe)).toBe(0);

    const settled = await settledBy(stripe, payout!.id);
    expect(settled.map((b) => b.source).sort()).toEqual([...charge_ids, payout!.id].sort());
    expect(settled.filter((b) => b.type === 'charge').reduce((sum, b) => sum + b.net, 0)).toBe(payout!.amount);
    expect(settled.find((b) => b.type === 'payout')).toMatchObject({ id: payout!.balance_transaction, net: -payout!.amount });

    // The same day again, three runs at once (a crash, other processes): found, not made twice.
    await Promise.all([t.platform.payouts.runSchedule(), t.platform.payouts.runSchedule(), t.platform.payouts.runSchedule()]);
    expect((await automaticPayouts(stripe)).map((p) => p.id)).toEqual([payout!.id]);
    expect(await payoutSettled(stripe, payout!.id)).toMatchObject({ status: 'paid' });

    // The next day's payout settles only what became available since; concurrent runs still make one.
    await charge(stripe, 3_000);
    await ledgerCaughtUp(t);
    clock.advance(3 * DAY_MS);
    await Promise.all([t.platform.payouts.runSchedule(), t.platform.payouts.runSchedule()]);
    expect(await automaticPayouts(stripe)).toHaveLength(2);
    const second = (await automaticPayouts(stripe))[1]!;
    const second_settled = await settledBy(stripe, second.id);
    expect(second_settled.map((b) => b.type).sort()).toEqual(['charge', 'payout']);
    expect(second_settled.find((b) => b.type === 'charge')?.net).toBe(second.amount);
  });

  it('delay_days is how long a charge’s funds stay pending: 0 makes them available at once', async () => {
    const stripe = await merchantWithSchedule({ interval: 'manual', delay_days: 0 });
    expect((await stripe.accounts.retrieve()).settings?.payouts?.schedule).toEqual({ interval: 'manual', delay_days: 0 });
    const intent = await stripe.paymentIntents.create({ amount: 5_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await ledgerCaughtUp(t);
    const txn = await stripe.balanceTransactions.retrieve((await stripe.charges.retrieve(intent.latest_charge as string)).balance_transaction as string);
    expect(txn.available_on).toBe(txn.created);
    await waitFor(async () => (await available(stripe)) === txn.net, 'the release of a charge with no delay');
    // Another merchant on the default (2 days) keeps a new charge pending.
    const other = await merchantWithSchedule({ interval: 'manual' });
    const pending = await other.paymentIntents.create({ amount: 5_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await ledgerCaughtUp(t);
    const pending_txn = await other.balanceTransactions.retrieve((await other.charges.retrieve(pending.latest_charge as string)).balance_transaction as string);
    expect(pending_txn.available_on - pending_txn.created).toBe(2 * 86_400);
  });

  it('a month on three schedules: weekly and monthly ones pay only on their anchor days, manual never', async () => {
    const weekly = await merchantWithSchedule({ interval: 'weekly', weekly_anchor: 'wednesday' });
    const monthly = await merchantWithSchedule({ interval: 'monthly', monthly_anchor: 31 });
    const manual = await merchantWithSchedule({ interval: 'manual' });
    // Until 1 March 2026: every day has a charge; the run of each day pays what is due.
    while (clock.now_ms() < Date.UTC(2026, 2, 1)) {
      await day([weekly, monthly, manual], 1_000);
    }
    const weekdays = (await automaticPayouts(weekly)).map((p) => new Date(p.created * 1000).getUTCDay());
    expect(weekdays.length).toBeGreaterThanOrEqual(7);
    expect(new Set(weekdays)).toEqual(new Set([3]));
    const monthly_days = (await automaticPayouts(monthly)).map((p) => new Date(p.created * 1000).toISOString().slice(0, 10));
    expect(monthly_days).toEqual(['2026-01-31', '2026-02-28']);
    expect(await automaticPayouts(manual)).toEqual([]);
    expect(await available(manual)).toBeGreaterThan(0);
    // The ledger still checks out: every transfer balanced, every account equal to its postings.
    const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
    expect(report.counts.transfers).toBeGreaterThan(100);
    // Each automatic payout settled exactly its amount.
    for (const stripe of [weekly, monthly]) {
      for (const payout of await automaticPayouts(stripe)) {
        const charges = (await settledBy(stripe, payout.id)).filter((b) => b.type === 'charge');
        expect(charges.reduce((sum, b) => sum + b.net, 0)).toBe(payout.amount);
      }
    }
  });

  it('what becomes available after a run, in the same second, is settled by the next payout', async () => {
    const stripe = await merchantWithSchedule({ interval: 'daily' });
    const earlier = await stripe.paymentIntents.create({ amount: 5_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await ledgerCaughtUp(t);
    clock.advance(3 * DAY_MS);
    await t.platform.payouts.runSchedule();
    const [first] = await automaticPayouts(stripe);
    // The clock has not moved since the run (a test clock; or a busy second): funds available at once, and a refund.
    await stripe.paymentIntents.create({ amount: 4_000, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
    await stripe.refunds.create({ charge: earlier.latest_charge as string, amount: 1_000 });
    await ledgerCaughtUp(t);
    clock.advance(DAY_MS);
    await t.platform.payouts.runSchedule();
    const second = (await automaticPayouts(stripe))[1]!;
    const settled = await settledBy(stripe, second.id);
    expect(settled.map((b) => b.type).sort()).toEqual(['charge', 'payout', 'refund']);
    expect(settled.filter((b) => b.type !== 'payout').reduce((sum, b) => sum + b.net, 0)).toBe(second.amount);
    expect((await settledBy(stripe, first!.id)).map((b) => b.type).sort()).toEqual(['charge', 'payout']);
  });
});

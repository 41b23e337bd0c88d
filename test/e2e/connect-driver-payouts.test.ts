import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import type { Platform } from '../../src/compose.js';
import { startPlatform } from '../../src/compose.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { bankAccount, ledgerCaughtUp, payoutSettled } from '../support/payouts.js';

/**
 * Uber's example (issue 19), through the official SDK: a platform pays its drivers for rides as
 * destination charges with an application fee, and each driver — a connected account with its own
 * bank account and payout schedule — is paid by the payout machinery exactly once per schedule: one
 * payout of its whole available balance on each due day, none on the others. Every run is raced by
 * a second process on the same database (and the scheduler's own runs); retries pay nothing more.
 * The payout is the driver's object only, and `ledger verify` is clean at the end.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Monday 5 January 2026, 08:00 UTC: rides in the morning, the day's payout run in the evening. */
const clock = new ManualClock(Date.UTC(2026, 0, 5, 8));
const FEE_PERCENT = 20;
let t: TestPlatform;
/** A second process on the same database: its payout run races the first one's. */
let other: Platform;

interface Driver {
  id: string;
  /** The platform's key acting as the driver (Stripe-Account), as a platform's dashboard would. */
  stripe: Stripe;
  bank: Stripe.BankAccount;
}

/** The platform's key with `Stripe-Account: account` on every call. */
function actingAs(account: string): Stripe {
  return stripeClient(t.url, t.secret_key, account);
}

async function newDriver(name: string, schedule: Stripe.AccountUpdateParams.Settings.Payouts.Schedule): Promise<Driver> {
  const account = await t.stripe.accounts.create({
    type: 'express',
    country: 'US',
    email: `${name}@example.com`,
    capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
  });
  const updated = await t.stripe.accounts.update(account.id, { settings: { payouts: { schedule } } });
  expect(updated.settings?.payouts?.schedule).toMatchObject(schedule);
  // Stripe's test account number a payout to which is paid.
  const bank = await bankAccount(t.stripe, account.id, '000123456789');
  return { id: account.id, stripe: actingAs(account.id), bank };
}

/** The driver's share of a ride: its amount less the platform's application fee. */
const feeOf = (amount: number) => Math.floor((amount * FEE_PERCENT) / 100);
const shareOf = (amount: number) => amount - feeOf(amount);

/** One ride: a destination charge to the driver, the platform keeping FEE_PERCENT as its application fee. */
async function ride(driver: Driver, amount: number, shift: string): Promise<void> {
  const intent = await t.stripe.paymentIntents.create({
    amount,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
    transfer_data: { destination: driver.id },
    application_fee_amount: feeOf(amount),
    transfer_group: shift,
  });
  expect(intent.status).toBe('succeeded');
}

async function payoutsOf(driver: Driver): Promise<Stripe.Payout[]> {
  return (await driver.stripe.payouts.list({ limit: 100 })).data.reverse();
}

async function usdBalance(driver: Driver): Promise<{ available: number; pending: number }> {
  const balance = await driver.stripe.balance.retrieve();
  const usd = (rows: Stripe.Balance.Available[]) => rows.find((b) => b.currency === 'usd')?.amount ?? 0;
  return { available: usd(balance.available), pending: usd(balance.pending) };
}

/** The day's scheduled run, three times at once from two processes (a retry and a race): what it pays, it pays once. */
async function racedScheduleRun(): Promise<void> {
  await Promise.all([t.platform.payouts.runSchedule(), other.payouts.runSchedule(), t.platform.payouts.runSchedule()]);
}

/** The payouts named by the `payout.created` events the client sees. */
async function payoutEventIds(stripe: Stripe): Promise<string[]> {
  const events = await stripe.events.list({ type: 'payout.created', limit: 100 });
  return events.data.map((event) => (event.data.object as { id: string }).id);
}

const sum = (amounts: number[]) => amounts.reduce((total, amount) => total + amount, 0);

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  other = await startPlatform({ ...t.config }, { clock, logger: createLogger('silent') });
  const platform_id = (await t.stripe.accounts.retrieve()).id;
  // The platform keeps its own earnings: no automatic payout of its balance muddles the drivers'.
  await t.stripe.accounts.update(platform_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
}, 120_000);
afterAll(async () => {
  await other?.stop();
  await t?.stop();
});

describe('drivers paid once per schedule', () => {
  let daily: Driver;
  let weekly: Driver;
  const made = new Map<string, string[]>();

  beforeAll(async () => {
    daily = await newDriver('daily-driver', { interval: 'daily', delay_days: 2 });
    weekly = await newDriver('weekly-driver', { interval: 'weekly', weekly_anchor: 'friday', delay_days: 2 });
  });

  it('pays each driver one payout per due day of everything available, over a week of rides', { timeout: 120_000 }, async () => {
    // Monday and Tuesday mornings: rides. Every evening, Monday to Friday: the scheduled run. On
    // Wednesday evening the platform also tips the weekly driver from its now available fees, as a
    // separate transfer in Monday's shift: available at once, paid with the rides.
    const TIP = 500;
    const rides: [Driver, number][][] = [
      [
        [daily, 1_850],
        [daily, 2_325],
        [weekly, 990],
        [daily, 4_100],
      ],
      [
        [daily, 1_275],
        [weekly, 3_310],
      ],
    ];
    const shares = (driver: Driver, day: number) => sum((rides[day] ?? []).filter(([d]) => d === driver).map(([, amount]) => shareOf(amount)));
    const paid: { daily: number | null; weekly: number | null }[] = [];
    for (let day = 0; day < 5; day++) {
      for (const [driver, amount] of rides[day] ?? []) await ride(driver, amount, `shift_${day}`);
      await ledgerCaughtUp(t);
      clock.advance(12 * HOUR_MS);
      const before = { daily: await payoutsOf(daily), weekly: await payoutsOf(weekly) };
      await racedScheduleRun();
      const after = { daily: await payoutsOf(daily), weekly: await payoutsOf(weekly) };
      // At most one payout per driver per run, whatever raced; its amount is what the day paid.
      expect(after.daily.length - before.daily.length).toBeLessThanOrEqual(1);
      expect(after.weekly.length - before.weekly.length).toBeLessThanOrEqual(1);
      paid.push({
        daily: after.daily.length > before.daily.length ? (after.daily.at(-1)?.amount ?? null) : null,
        weekly: after.weekly.length > before.weekly.length ? (after.weekly.at(-1)?.amount ?? null) : null,
      });
      if (day === 2) await t.stripe.transfers.create({ amount: TIP, currency: 'usd', destination: weekly.id, transfer_group: 'shift_0' });
      clock.advance(12 * HOUR_MS);
    }
    // The daily driver: on Wednesday Monday's rides, on Thursday Tuesday's (two days' delay). The weekly
    // one: on Friday, its anchor, everything it earned, tip included. Nothing on any other day.
    expect(paid).toEqual([
      { daily: null, weekly: null },
      { daily: null, weekly: null },
      { daily: shares(daily, 0), weekly: null },
      { daily: shares(daily, 1), weekly: null },
      { daily: null, weekly: shares(weekly, 0) + shares(weekly, 1) + TIP },
    ]);
    for (const driver of [daily, weekly])
      made.set(
        driver.id,
        (await payoutsOf(driver)).map((p) => p.id),
      );
  });

  it('leaves nothing to pay: a run again, from either process, makes no payout', async () => {
    await racedScheduleRun();
    for (const driver of [daily, weekly]) {
      expect((await payoutsOf(driver)).map((p) => p.id)).toEqual(made.get(driver.id));
      expect(await usdBalance(driver)).toEqual({ available: 0, pending: 0 });
    }
  });

  it('shows each payout in Stripe’s shape to the driver only, settled to its bank, listing the rides it paid', async () => {
    const platform_payouts = (await t.stripe.payouts.list({ limit: 100 })).data.map((p) => p.id);
    const platform_events = await payoutEventIds(t.stripe);
    for (const driver of [daily, weekly]) {
      for (const payout of await payoutsOf(driver)) {
        expect(stripeSchemaProblems('payout', payout)).toEqual([]);
        expect(payout).toMatchObject({ automatic: true, currency: 'usd', destination: driver.bank.id, method: 'standard' });
        expect(platform_payouts).not.toContain(payout.id);
        expect(platform_events).not.toContain(payout.id);
        expect(await payoutEventIds(driver.stripe)).toContain(payout.id);
        expect(await rejection(t.stripe.payouts.retrieve(payout.id))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
        // The connected account's own balance transactions: the ride payments it settled, and itself.
        const settled = await driver.stripe.balanceTransactions.list({ payout: payout.id, limit: 100 });
        const payments = settled.data.filter((b) => b.type === 'payment');
        expect(sum(payments.map((b) => b.net))).toBe(payout.amount);
        expect(settled.data.filter((b) => b.type === 'payout').map((b) => b.amount)).toEqual([-payout.amount]);
      }
    }
    // The bank worker until it has nothing left to move (the other process's scheduler may take some).
    while ((await t.platform.payouts.processInFlight()) > 0);
    for (const driver of [daily, weekly])
      for (const payout of await payoutsOf(driver)) expect((await payoutSettled(driver.stripe, payout.id)).status).toBe('paid');
  });

  it('keeps the books balanced: ledger verify finds nothing', async () => {
    await ledgerCaughtUp(t);
    const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
  });
});

describe('a release in flight in another process when the run starts', () => {
  it('the run waits for it and pays the driver everything due, not part of it', { timeout: 60_000 }, async () => {
    const driver = await newDriver('late-driver', { interval: 'daily', delay_days: 2 });
    const fares = [1_640, 2_210];
    for (const fare of fares) await ride(driver, fare, 'late_shift');
    await ledgerCaughtUp(t);
    // Another process's release batch, holding the driver's due releases (and released by it after).
    const batch = await t.owner.connect();
    try {
      await batch.query('BEGIN');
      const held = await batch.query('SELECT transfer_id FROM ledger.releases WHERE merchant_id = $1 FOR UPDATE', [driver.id]);
      expect(held.rows).toHaveLength(fares.length);
      clock.advance(3 * DAY_MS);
      let done = false;
      const run = t.platform.payouts.runSchedule().finally(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(done).toBe(false);
      await batch.query('COMMIT');
      await run;
    } finally {
      batch.release();
    }
    const payouts = await payoutsOf(driver);
    expect(payouts.map((p) => p.amount)).toEqual([sum(fares.map(shareOf))]);
    expect(await usdBalance(driver)).toEqual({ available: 0, pending: 0 });
  });
});

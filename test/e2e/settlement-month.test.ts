import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import { sandboxCaptureFees, sandboxRefundFees } from '../../src/services/connectors/index.js';
import { feeFor, DEFAULT_FEE_SCHEDULE } from '../../src/services/ledger/domain/fees.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { bankAccount, ledgerCaughtUp } from '../support/payouts.js';

/**
 * A month in seconds: every day a merchant takes payments and refunds one, then the test clock moves
 * a day and the day jobs run on it (settlement, the release of pending funds, the daily automatic
 * payout and its bank). At the end every capture and refund is settled once, the processor's
 * receivable is empty, its fees and the cash are what the sandbox's fee schedule says, the merchant's
 * balance is what it earned less what it was paid, and `ledger verify` finds nothing.
 */
const DAY_MS = 86_400_000;
const DAYS = 30;
const START_MS = Date.UTC(2026, 9, 1, 9); // 1 October 2026, 09:00 UTC
const clock = new ManualClock(START_MS);
let t: TestPlatform;
let stripe: Stripe;
let merchant_id: string;

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  ({ stripe } = await t.newMerchant());
  merchant_id = (await stripe.accounts.retrieve()).id;
  await stripe.accounts.update(merchant_id, { settings: { payouts: { schedule: { interval: 'daily', delay_days: 2 } } } });
  await bankAccount(stripe, merchant_id, '000123456789');
});
afterAll(async () => {
  await t?.stop();
});

async function accounts(): Promise<Record<string, number>> {
  const rows = await t.owner.query<{ code: string; balance: string }>(
    `SELECT code, CASE WHEN normal = 'debit' THEN debits_posted - credits_posted ELSE credits_posted - debits_posted END AS balance
     FROM ledger.accounts WHERE merchant_id = $1 AND currency = 'usd'`,
    [merchant_id],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.code, Number(r.balance)]));
}

describe('a month of captures, refunds, settlement and payouts on a test clock', () => {
  it('settles every day once and leaves the books balanced', { timeout: 180_000 }, async () => {
    const expected = { gross: 0, refunded: 0, platform_fees: 0, processor_fees: 0 };
    const settled_days: string[] = [];
    for (let day = 0; day < DAYS; day++) {
      const amounts = [1000 + 37 * day, 2500, 999];
      const charges: string[] = [];
      for (const amount of amounts) {
        const intent = await stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
        charges.push(chargeIdOf(intent));
        const fees = sandboxCaptureFees(amount);
        expected.gross += amount;
        expected.platform_fees += feeFor(amount, DEFAULT_FEE_SCHEDULE);
        expected.processor_fees += fees.interchange + fees.scheme_fees + fees.markup + fees.commission;
      }
      await stripe.refunds.create({ charge: charges[0] ?? '', amount: 300 });
      expected.refunded += 300;
      expected.processor_fees += sandboxRefundFees().commission;
      await ledgerCaughtUp(t);
      clock.advance(DAY_MS);
      settled_days.push(...(await t.platform.settlement.runDue()).filter((d) => d.report !== null).map((d) => d.batch_date));
      await t.platform.payouts.runSchedule();
      await t.platform.payouts.processInFlight();
    }
    // Every day of the month settled exactly once, each line posted (none unmatched, none twice).
    expect(new Set(settled_days).size).toBe(DAYS);
    const lines = await t.owner.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM settlement.report_lines WHERE merchant_id = $1 GROUP BY outcome ORDER BY outcome',
      [merchant_id],
    );
    expect(lines.rows).toEqual([
      { outcome: 'not_posted', n: DAYS }, // the daily MerchantPayout lines
      { outcome: 'posted', n: DAYS * 4 },
    ]);

    const books = await accounts();
    const paid_out = (await stripe.payouts.list({ limit: 100 })).data.filter((p) => p.status === 'paid').reduce((sum, p) => sum + p.amount, 0);
    expect(paid_out).toBeGreaterThan(0);
    expect(books.processor_receivable).toBe(0);
    expect(books.processor_fees).toBe(expected.processor_fees);
    expect(books.platform_fees).toBe(expected.platform_fees);
    // What the processor paid in, less what Payrail paid out to the merchant's bank.
    expect(books.settlement_cash).toBe(expected.gross - expected.refunded - expected.processor_fees - paid_out);
    const balance = await stripe.balance.retrieve();
    const usd = (list: Stripe.Balance.Available[]) => list.find((b) => b.currency === 'usd')?.amount ?? 0;
    expect(usd(balance.available) + usd(balance.pending)).toBe(expected.gross - expected.platform_fees - expected.refunded - paid_out);
    // Platform margin is visible: Payrail's fees less the processor's.
    expect((books.platform_fees ?? 0) - (books.processor_fees ?? 0)).toBe(expected.platform_fees - expected.processor_fees);

    const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
  });
});

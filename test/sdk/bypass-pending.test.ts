import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver } from '../support/webhook-receiver.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { bankAccount } from '../support/payouts.js';
import { freshMerchant, ruleAdmin } from '../support/risk.js';

/**
 * Stripe's test card 4000000000000077 (`pm_card_bypassPending`, `tok_bypassPending`): the charge's
 * funds go straight to the available balance, so a manual payout of them succeeds at once, while a
 * normal card's funds stay pending. The sandbox's fact travels in the event's internal envelope and
 * never shows in the charge, its events or the webhooks. The clock stands still: nothing is released.
 */

// Now, and standing still: webhook signatures carry its time, and the receiver checks it against the real one.
// Now, and standing still: webhook signatures carry its time, and the receiver checks it against the real one.
const clock = new ManualClock(Date.now());
const now_s = () => Math.floor(clock.now_ms() / 1000);
const NET_OF_2000 = 2000 - 88; // 2.9% + 30
const NET_OF_5000 = 5000 - 175;
let t: TestPlatform;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  receiver = await startReceiver();
  const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
  receiver.secret = endpoint.secret!;
  const { id } = await t.stripe.accounts.retrieve();
  // Manual payouts only: no automatic run takes the available balance before the test does.
  await t.stripe.accounts.update(id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  await bankAccount(t.stripe, id, '000123456789');
});
afterAll(async () => {
  await receiver?.close();
  await t?.stop();
});

/** Polls `condition`; generous, since the machine running the suite may be busy. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ledgerCaughtUp = () =>
  eventually(async () => (await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind === 0, 'the ledger to catch up');

async function balance(): Promise<{ available: number; pending: number }> {
  const retrieved = await t.stripe.balance.retrieve();
  const usd = (list: Stripe.Balance.Available[]) => list.find((b) => b.currency === 'usd')?.amount ?? 0;
  return { available: usd(retrieved.available), pending: usd(retrieved.pending) };
}

async function chargeTransaction(charge_id: string): Promise<Stripe.BalanceTransaction> {
  const listed = await t.stripe.balanceTransactions.list({ source: charge_id });
  expect(listed.data).toHaveLength(1);
  return listed.data[0]!;
}

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
}

describe('pm_card_bypassPending', { timeout: 120_000 }, () => {
  let bypass: Stripe.PaymentIntent;
  let normal: Stripe.PaymentIntent;

  it('puts the charge’s net straight into the available balance; a normal card’s stays pending', async () => {
    const before = await balance();
    bypass = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
    normal = await t.stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect([bypass.status, normal.status]).toEqual(['succeeded', 'succeeded']);
    await ledgerCaughtUp();
    expect(await balance()).toEqual({ available: before.available + NET_OF_2000, pending: before.pending + NET_OF_5000 });

    const immediate = await chargeTransaction(bypass.latest_charge as string);
    expect(stripeSchemaProblems('balance_transaction', immediate)).toEqual([]);
    expect(immediate).toMatchObject({ type: 'charge', status: 'available', amount: 2000, fee: 88, net: NET_OF_2000 });
    expect(immediate.available_on).toBe(immediate.created);
    const held = await chargeTransaction(normal.latest_charge as string);
    expect(held).toMatchObject({ type: 'charge', status: 'pending', net: NET_OF_5000 });
    expect(held.available_on).toBe(held.created + 2 * 86_400);
  });

  it('pays its amount out at once with a manual payout, while the pending funds cannot be', async () => {
    const { available } = await balance();
    const over = await t.stripe.payouts.create({ amount: available + 1, currency: 'usd' }).catch((error: unknown) => error);
    expect(over).toMatchObject({ code: 'balance_insufficient' });
    const payout = await t.stripe.payouts.create({ amount: available, currency: 'usd' });
    expect(payout).toMatchObject({ status: 'pending', amount: NET_OF_2000, automatic: false });
    expect(await balance()).toMatchObject({ available: 0, pending: NET_OF_5000 });
    await eventually(async () => (await t.stripe.payouts.retrieve(payout.id)).status === 'paid', 'the payout to be paid');
  });

  it('works captured later, and as the legacy token tok_bypassPending', async () => {
    const before = await balance();
    const manual = await t.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_bypassPending',
      capture_method: 'manual',
      confirm: true,
    });
    await t.stripe.paymentIntents.capture(manual.id, { amount_to_capture: 1000 });
    const legacy = await t.stripe.charges.create({ amount: 2000, currency: 'usd', source: 'tok_bypassPending' });
    await ledgerCaughtUp();
    expect(await balance()).toEqual({ available: before.available + (1000 - 59) + NET_OF_2000, pending: before.pending });
    expect((await chargeTransaction(legacy.id)).status).toBe('available');
  });

  it('never shows the fact in the charge, its events or its webhooks', async () => {
    const charge = await t.stripe.charges.retrieve(bypass.latest_charge as string);
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    const events = (await t.stripe.events.list({ limit: 100 })).data.filter((e) => (e.data.object as { id: string }).id === charge.id);
    expect(events.map((e) => e.type)).toContain('charge.succeeded');
    await eventually(
      async () => receiver.delivered().some((e) => e.type === 'charge.succeeded' && (e.data.object as { id: string }).id === charge.id),
      'the charge.succeeded webhook',
    );
    const webhooks = receiver.received.filter((r) => r.raw.includes(charge.id)).map((r) => r.raw);
    for (const shown of [JSON.stringify(charge), ...events.map((e) => JSON.stringify(e)), ...webhooks]) {
      expect(keysOf(JSON.parse(shown))).not.toContain('funds');
      expect(keysOf(JSON.parse(shown))).not.toContain('internal');
      expect(shown).not.toContain('immediate');
    }
  });

  it('leaves the ledger verifiably clean', async () => {
    const report = await verifyLedger(t.platform.database.pool, now_s(), ledgerRecords);
    expect(report.problems).toEqual([]);
    expect(report.counts.charges).toBe(4);
    expect(report.releases_due).toBe(0);
  });

  it('verify names a capture available at once that is also scheduled for release', async () => {
    const txn = await chargeTransaction(bypass.latest_charge as string);
    const { id: merchant_id } = await t.stripe.accounts.retrieve();
    await t.owner.query(`INSERT INTO ledger.releases (merchant_id, transfer_id, available_on) VALUES ($1, $2, $3)`, [merchant_id, txn.id, now_s() + 60]);
    const report = await verifyLedger(t.platform.database.pool, now_s(), ledgerRecords);
    expect(report.problems).toEqual([`capture ${txn.id} of ${bypass.latest_charge as string} was available at once but is scheduled for release`]);
  });
});

describe('pm_card_bypassPending through Radar', { timeout: 120_000 }, () => {
  async function available(stripe: Stripe): Promise<number> {
    return (await stripe.balance.retrieve()).available.find((b) => b.currency === 'usd')?.amount ?? 0;
  }

  it('a payment held for review is available at once when the approval captures it', async () => {
    const merchant = await freshMerchant(t);
    await ruleAdmin(t).add(merchant.merchant_id, 'Review if :amount_in_usd: > 500');
    const intent = await merchant.stripe.paymentIntents.create({ amount: 60_000, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
    const charge = await merchant.stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge.captured).toBe(false);
    await merchant.stripe.reviews.approve(charge.review as string);
    await ledgerCaughtUp();
    expect(await available(merchant.stripe)).toBe(60_000 - 1_770);
  });

  it('a payment a rule sends to 3-D Secure is available at once once authenticated', async () => {
    const merchant = await freshMerchant(t);
    await ruleAdmin(t).add(merchant.merchant_id, 'Request 3D Secure if :amount_in_usd: > 5');
    const intent = await merchant.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_bypassPending', confirm: true });
    expect(intent.status).toBe('requires_action');
    const authenticated = await fetch(`${t.url}/v1/test_helpers/payment_intents/${intent.id}/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchant.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=succeeded',
    });
    expect(authenticated.status).toBe(200);
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
    await ledgerCaughtUp();
    expect(await available(merchant.stripe)).toBe(NET_OF_2000);
  });
});

import type Stripe from 'stripe';
import type { ManualClock } from '../../src/kernel/clock.js';
import type { TestPlatform } from './platform.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';

/** Helpers for payout tests: bank accounts with Stripe's test numbers, available funds, settled payouts. */

const WAIT_LIMIT_MS = 20_000;
const POLL_MS = 50;
const DAY_MS = 86_400_000;

export async function waitFor(condition: () => Promise<boolean>, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A US bank account with Stripe's test routing number and `account_number`. */
export async function bankAccount(
  stripe: Stripe,
  account_id: string,
  account_number: string,
  overrides: { routing_number?: string } = {},
): Promise<Stripe.BankAccount> {
  const created = await stripe.accounts.createExternalAccount(account_id, {
    external_account: {
      object: 'bank_account',
      country: 'US',
      currency: 'usd',
      routing_number: overrides.routing_number ?? '110000000',
      account_number,
      account_holder_name: 'Jenny Rosen',
      account_holder_type: 'individual',
    },
  } as unknown as Stripe.ExternalAccountCreateParams);
  return created as Stripe.BankAccount;
}

async function balanceOf(stripe: Stripe): Promise<{ available: number; pending: number }> {
  const balance = await stripe.balance.retrieve();
  const usd = (list: Stripe.Balance.Available[]) => list.find((b) => b.currency === 'usd')?.amount ?? 0;
  return { available: usd(balance.available), pending: usd(balance.pending) };
}

/**
 * `count` card payments of `amount`, made available as Stripe would after the settlement delay: the
 * clock moves three days and the ledger's release job (on that clock) makes them available.
 * Returns the available balance then.
 */
export async function availableAfterCharges(t: TestPlatform, clock: ManualClock, stripe: Stripe, count: number, amount: number): Promise<number> {
  for (let i = 0; i < count; i++) await stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  await ledgerCaughtUp(t);
  clock.advance(3 * DAY_MS);
  await waitFor(async () => (await balanceOf(stripe)).pending === 0, 'the release of pending funds');
  return (await balanceOf(stripe)).available;
}

/** Waits until the ledger has consumed every committed event. */
export async function ledgerCaughtUp(t: TestPlatform): Promise<void> {
  await waitFor(async () => (await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind === 0, 'the ledger to catch up');
}

/** Polls until the payout is paid, failed or canceled. */
export async function payoutSettled(stripe: Stripe, id: string): Promise<Stripe.Payout> {
  let payout = await stripe.payouts.retrieve(id);
  await waitFor(async () => {
    payout = await stripe.payouts.retrieve(id);
    return payout.status === 'paid' || payout.status === 'failed' || payout.status === 'canceled';
  }, `payout ${id} to settle`);
  return payout;
}

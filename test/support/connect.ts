import type Stripe from 'stripe';
import type { TestPlatform } from './platform.js';

/**
 * A merchant of its own on `t`, its payouts manual so no automatic payout run takes what a test moves
 * between accounts (Connect's tests make it a connected account, or a stranger to the platform).
 */
export async function merchantWithManualPayouts(t: TestPlatform): Promise<{ id: string; stripe: Stripe }> {
  const { stripe } = await t.newMerchant();
  const { id } = await stripe.accounts.retrieve();
  await stripe.accounts.update(id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  return { id, stripe };
}

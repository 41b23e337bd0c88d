import { PayrailError } from '../../../kernel/errors.js';
import { isGuardFailure, isUniqueViolation } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { Invoice } from '../domain/invoice.js';
import type { Subscription } from '../domain/subscription.js';
import type { Renewal } from '../adapters/renewal-store.js';
import { insertRenewal } from '../adapters/renewal-store.js';
import type { BillingDeps } from './deps.js';
import { expireIncomplete, planRenewal } from './subscription-renewal.js';

/**
 * A subscription's period ends: the renewal opens the next period and bills it, once. The plan (the
 * subscription's next version and its cycle invoice, drafted and finalized, with their events) is
 * subscriptions' and invoices' work; renewals adds the guard row of `billing.renewals`, keyed by
 * (subscription, period start), to the same statement. Whoever runs it — two schedulers, a retry
 * after a crash, a test clock's advance — a period is renewed once: the loser's statement fails on
 * the subscription's version or on that key, and nothing of it is written.
 */

/**
 * Where a renewal stands once committed: collecting its invoice from the first try (the invoice's
 * `next_payment_attempt`: Stripe charges a cycle invoice an hour after finalizing it), or nothing to
 * collect (the subscription ended, nothing was due, or the invoice was sent to the customer).
 */
export function renewalRow(
  ctx: OperationContext,
  subscription: Pick<Subscription, 'id' | 'test_clock'>,
  period_start: number,
  invoice: Invoice | null,
): Renewal {
  const base = {
    merchant_id: ctx.merchant_id,
    subscription_id: subscription.id,
    period_start,
    invoice_id: invoice?.id ?? null,
    test_clock: subscription.test_clock,
    first_try_at: ctx.now_s,
    attempts_seen: 0,
    next_attempt_at: null,
    version: 1,
  };
  if (invoice === null) return { ...base, state: 'none' };
  if (invoice.status === 'paid') return { ...base, state: 'paid' };
  const charged = invoice.status === 'open' && invoice.collection_method === 'charge_automatically' && invoice.next_payment_attempt !== null;
  if (!charged || invoice.next_payment_attempt === null) return { ...base, state: 'none' };
  return { ...base, state: 'collecting', first_try_at: invoice.next_payment_attempt, next_attempt_at: invoice.next_payment_attempt };
}

/** The use case: renew `subscription_id` whose period ended at `period_end`, if nobody did yet. */
export async function renewSubscription(deps: BillingDeps, ctx: OperationContext, subscription_id: string, period_end: number): Promise<Outcome> {
  const plan = await planRenewal(deps, ctx, subscription_id, period_end);
  if (plan === null) return { ok: { renewed: false } };
  const row = renewalRow(ctx, plan.subscription, period_end, plan.invoice);
  const outcome: Outcome = { ok: { renewed: true, invoice: plan.invoice?.id ?? null } };
  await ctx.commit([...plan.writes, insertRenewal(row)], outcome);
  return outcome;
}

export type RenewResult = 'renewed' | 'already';

/**
 * Runs the renewal through the write pipeline as the subscription's merchant. Losing the race to
 * another runner is an answer (`already`), not a failure.
 */
export async function renewOne(deps: BillingDeps, key: { merchant_id: string; subscription_id: string; period_end: number }): Promise<RenewResult> {
  const request_id = `renewal-${key.subscription_id}-${key.period_end}`;
  try {
    const { response } = await execute(
      deps.write,
      { merchant_id: key.merchant_id, request_id },
      { reserves: [], run: (ctx) => renewSubscription(deps, ctx, key.subscription_id, key.period_end) },
      {},
    );
    if (response.status !== 200) throw new Error(`renewal of ${key.subscription_id} answered ${response.status}: ${response.body.slice(0, 300)}`);
    return (JSON.parse(response.body) as { renewed: boolean }).renewed ? 'renewed' : 'already';
  } catch (error) {
    if (lostRace(error)) return 'already';
    throw error;
  }
}

/** Another runner committed the same renewal (or dunning step) first, or is making the same payment try right now. */
export function lostRace(error: unknown): boolean {
  if (error instanceof PayrailError) return error.code === 'lock_timeout' || error.code === 'idempotency_key_in_use';
  return isGuardFailure(error) || isUniqueViolation(error);
}

/** Runs `work` over `items` with at most `limit` at a time, in the merchant scope of each. */
export async function eachBounded<T extends { merchant_id: string }>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await withMerchant(item.merchant_id, () => work(item));
    }
  });
  await Promise.all(lanes);
}

/** An incomplete subscription whose first invoice stayed unpaid 23 hours: `incomplete_expired`, through subscriptions' use case. */
export async function expireOne(deps: BillingDeps, due: { merchant_id: string; subscription_id: string }): Promise<void> {
  try {
    await execute(
      deps.write,
      { merchant_id: due.merchant_id, request_id: `incomplete-expiry-${due.subscription_id}` },
      { reserves: [], run: (ctx) => expireIncomplete(deps, ctx, due.subscription_id) },
      {},
    );
  } catch (error) {
    if (!lostRace(error)) throw error;
  }
}

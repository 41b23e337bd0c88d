import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { execute } from '../../../platform/write/pipeline.js';
import { outboxInsert } from '../../events/index.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { findSubscription } from '../adapters/subscription-store.js';
import type { DueNotice } from '../adapters/due-store.js';
import { insertTrialNotice } from '../adapters/renewal-store.js';
import type { BillingDeps } from './deps.js';
import { lostRace } from './renewals.js';
import { pricesOf } from './subscription-prices.js';

/**
 * `customer.subscription.trial_will_end`, as Stripe sends it: three days before a trial ends, or at
 * once when the trial is shorter; once per subscription and trial end (a trial extended to a new end
 * is told again). The notice's row in `billing.trial_notices` commits with the event, so two runners
 * cannot both send it.
 */
export const TRIAL_WILL_END = 'customer.subscription.trial_will_end';

export async function sendTrialNotice(ctx: OperationContext, notice: DueNotice): Promise<Outcome> {
  const subscription = await findSubscription(ctx.reader, ctx.merchant_id, notice.subscription_id);
  if (!subscription || subscription.status !== 'trialing' || subscription.trial_end !== notice.trial_end) return { ok: { sent: false } };
  const object = renderSubscription(subscription, await pricesOf(ctx.reader, subscription)) as { id: string };
  const outcome: Outcome = { ok: { sent: true } };
  await ctx.commit(
    [
      insertTrialNotice(ctx.merchant_id, subscription.id, notice.trial_end, ctx.now_s),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: TRIAL_WILL_END, object }]),
    ],
    outcome,
  );
  return outcome;
}

export async function noticeOne(deps: BillingDeps, notice: DueNotice): Promise<void> {
  const request_id = `trial-notice-${notice.subscription_id}-${notice.trial_end}`;
  try {
    await execute(deps.write, { merchant_id: notice.merchant_id, request_id }, { reserves: [], run: (ctx) => sendTrialNotice(ctx, notice) }, {});
  } catch (error) {
    if (!lostRace(error)) throw error;
  }
}

import type { OperationContext } from '../../../platform/write/operation.js';
import { getTestClock } from '../adapters/test-clock-store.js';

/**
 * The time billing runs at for a customer: as in Stripe, a test clock's customers live at the clock's
 * time — how far its billing has run (`billed_to`, which is `frozen_time` once the clock is ready) —
 * else the operation's time. Renewals runs a clock's work with the operation's time set to it.
 */
export async function billingNow(ctx: OperationContext, test_clock: string | null): Promise<number> {
  if (test_clock === null) return ctx.now_s;
  return (await getTestClock(ctx.reader, ctx.merchant_id, test_clock, ctx.now_s)).billed_to;
}

import type { Logger } from '../../../platform/logger.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import { dueForExpiry, getSession } from '../adapters/store.js';
import type { CheckoutDeps } from './deps.js';
import { completeIfDone, runFor } from './hosted.js';
import { expireSession } from './sessions.js';

/** The sweep that expires open sessions past their `expires_at` (a scheduled job, one process at a time). */
export const CHECKOUT_EXPIRY_JOB = 'checkout-expiry';
export const CHECKOUT_EXPIRY_INTERVAL_MS = 10_000;
/** Sessions expired per run; the next run takes the rest. */
const EXPIRY_BATCH = 100;

/**
 * A session whose payment went through is completed instead (its completion was lost); one whose
 * payment is under way (3-D Secure) is left for a later run.
 */
export async function expireDueSessions(deps: CheckoutDeps, logger: Logger): Promise<number> {
  const due = await dueForExpiry(deps.lookup, Math.floor(deps.write.clock.now_ms() / 1000), EXPIRY_BATCH);
  let expired = 0;
  for (const { merchant_id, id } of due) {
    if (await withMerchant(merchant_id, () => expireOne(deps, merchant_id, id, logger))) expired += 1;
  }
  return expired;
}

async function expireOne(deps: CheckoutDeps, merchant_id: string, id: string, logger: Logger): Promise<boolean> {
  const request_id = `checkout-expiry-${id}`;
  try {
    const session = await completeIfDone(deps, await getSession(deps.write.reader, merchant_id, id), request_id, { email: null, name: null });
    if (session.status !== 'open') return false;
    return (await runFor(deps, merchant_id, request_id, { reserves: [], run: (ctx) => expireSession(deps, ctx, id) }, {})).ok;
  } catch (error) {
    logger.warn({ err: error, checkout_session: id }, 'checkout session expiry failed; retried on the next run');
    return false;
  }
}

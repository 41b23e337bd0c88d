import type { UseCase } from '../../../platform/write/pipeline.js';
import { cancelIntent, cancelSetupIntent, retrieveIntent, retrieveSetupIntent } from '../../payments/index.js';
import type { CheckoutSession } from '../domain/session.js';
import type { CheckoutDeps } from './deps.js';
import { runFor } from './hosted.js';

/** Intent states a customer left behind: nothing is moving, so the intent can be canceled. */
const LEFT_BEHIND: ReadonlySet<unknown> = new Set(['requires_payment_method', 'requires_confirmation']);

/**
 * Stripe cancels an expired session's PaymentIntent (or SetupIntent) — the merchant cannot, it expires
 * the session instead. Runs after the expiry has committed, as its own write, and never fails the
 * expiry: the expired session is what stops the customer paying, so an intent whose cancel failed
 * (the database went away) is left uncanceled but payable by nobody through the session.
 */
export async function cancelAbandonedIntent(deps: CheckoutDeps, session: CheckoutSession, request_id: string): Promise<void> {
  await cancelIntents(deps, session, request_id).catch(() => undefined);
}

async function cancelIntents(deps: CheckoutDeps, session: CheckoutSession, request_id: string): Promise<void> {
  const { merchant_id, payment_intent, setup_intent } = session;
  if (payment_intent !== null && LEFT_BEHIND.has((await retrieveIntent(deps.payments, merchant_id, payment_intent)).status)) {
    const cancel: UseCase<Record<string, never>> = {
      reserves: [],
      run: (ctx) => cancelIntent(deps.payments, ctx, payment_intent, { cancellation_reason: 'abandoned' }),
    };
    await runFor(deps, merchant_id, request_id, cancel, {});
  }
  if (setup_intent !== null && LEFT_BEHIND.has((await retrieveSetupIntent(deps.payments, merchant_id, setup_intent)).status)) {
    const cancel: UseCase<Record<string, never>> = { reserves: [], run: (ctx) => cancelSetupIntent(ctx, setup_intent, 'abandoned') };
    await runFor(deps, merchant_id, request_id, cancel, {});
  }
}

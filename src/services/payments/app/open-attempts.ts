/**
 * Attempts whose answer was lost (a crash, a timeout, an unknown outcome): settled by a status
 * inquiry, by the retry of their request, or by the sweeper — never by a second authorization under a
 * new id. Split from attempt.ts, which makes attempts; this file finishes the ones left open.
 */
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import type { PaymentIntent } from '../domain/intent.js';
import { renderIntent } from '../adapters/render.js';
import { findCharge, takeProcessorCall } from '../adapters/store.js';
import { metrics } from '../../../platform/metrics.js';
import type { PaymentsDeps } from './deps.js';
import { cardError, declineCodeOf, legacyChargeResponse } from './attempt-result.js';
import type { WhenUnknown } from './attempt.js';
import { AttemptStillOpen, authorizeRequest, finishAttempt, orphanOnFailure, stillProcessing, storedCredential } from './attempt.js';
import { auditDetokenization } from './detokenization-audit.js';

/** What a processor that never heard of an attempt means for it: no money moved, and the customer may try again. */
const NEVER_REACHED_PROCESSOR: AuthorizeResult = {
  outcome: 'declined',
  code: 'processing_error',
  decline_code: 'processing_error',
  message: 'An error occurred while processing your card. Try again in a little bit.',
  cvc_check: 'unchecked',
};

/**
 * Settles an attempt left `processing` by a request that died or lost the processor's answer: asks
 * the processor what it did with the attempt id, and records that answer. What happens when the
 * processor never heard of it is the caller's choice (`WhenUnknown`).
 */
export async function settleOpenAttempt(
  deps: PaymentsDeps,
  ctx: OperationContext,
  processing: PaymentIntent,
  when_unknown: WhenUnknown,
  seen_holder?: number | null,
): Promise<Outcome> {
  const charge_id = processing.pending_attempt;
  const pm_id = processing.payment_method;
  if (!charge_id || !pm_id || processing.status !== 'processing') throw new Error(`intent ${processing.id}: no attempt in flight to settle`);
  const status = await deps.connector.attemptStatus(charge_id);
  // The processor cannot tell yet: its notification or a later inquiry will; nothing is sent again meanwhile.
  if (status.found === 'unknown') throw new AttemptStillOpen(`attempt ${charge_id}: the processor cannot tell its outcome yet`);
  if (!status.found && when_unknown === 'wait') throw new AttemptStillOpen(`attempt ${charge_id} is unknown to the processor; a retry may still send it`);
  metrics.callSettled('authorize', status.found ? 'answered' : when_unknown === 'resend' ? 'resent' : 'never_reached');
  if (status.found) return finishAttempt(deps, ctx, processing, await deps.vault.get(ctx.reader, ctx.merchant_id, pm_id), status.result, [], { seen_holder });
  if (when_unknown === 'fail') {
    return finishAttempt(deps, ctx, processing, await deps.vault.get(ctx.reader, ctx.merchant_id, pm_id), NEVER_REACHED_PROCESSOR, [], { seen_holder });
  }
  // Taken over before it is sent again: the sweeper's 'fail', guarded by the holder it saw, cannot
  // then be recorded for an attempt this request is about to make.
  await ctx.record([takeProcessorCall(ctx.merchant_id, charge_id, ctx.holder, ctx.now_ms, 'pending')]);
  const { method, card, audit } = await deps.vault.cardForPayment(ctx.reader, ctx.merchant_id, pm_id, charge_id, ctx.now_ms);
  if (audit) await auditDetokenization(deps, ctx, pm_id, charge_id);
  const request = authorizeRequest(ctx, processing, method, card, await storedCredential(ctx, processing));
  return orphanOnFailure(
    ctx,
    charge_id,
    async () => finishAttempt(deps, ctx, processing, method, await deps.connector.authorize(request), audit ? [audit] : []),
    () => stillProcessing(ctx, processing),
  );
}

/**
 * The answer a retry gets for its attempt when that attempt is already settled (by the request that
 * died after committing, or by the sweeper): its charge's outcome, as the first answer would have been.
 */
export async function settledOutcome(ctx: OperationContext, intent: PaymentIntent, charge_id: string | null): Promise<Outcome> {
  const charge = charge_id ? await findCharge(ctx.reader, ctx.merchant_id, charge_id) : undefined;
  const outcome: Outcome =
    intent.charges_api && charge
      ? legacyChargeResponse(charge)
      : charge?.status === 'failed'
        ? {
            error: cardError(charge.failure_code ?? 'card_declined', declineCodeOf(charge), charge.failure_message ?? 'Your card was declined.', {
              charge: charge.id,
              payment_intent: renderIntent(intent),
            }),
          }
        : { ok: renderIntent(intent) };
  await ctx.commit([], outcome);
  return outcome;
}

/** True when a request with this key died after its attempt on `intent` was recorded. */
export async function leftByThisKey(ctx: OperationContext, intent: PaymentIntent): Promise<boolean> {
  const charge_id = ctx.resumed ? ctx.reserved('charge') : null;
  if (!charge_id) return false;
  return intent.pending_attempt === charge_id || (await findCharge(ctx.reader, ctx.merchant_id, charge_id)) !== undefined;
}

/**
 * Resumes what a dead request with this key left on `intent`: its own attempt still in flight is
 * settled; anything else (its attempt settled, or another request's attempt now in flight) gets the
 * answer its own attempt earned.
 */
export function resumeAttempt(deps: PaymentsDeps, ctx: OperationContext, intent: PaymentIntent): Promise<Outcome> {
  const charge_id = ctx.reserved('charge');
  if (intent.status === 'processing' && intent.pending_attempt === charge_id) return settleOpenAttempt(deps, ctx, intent, 'resend');
  return settledOutcome(ctx, intent, charge_id);
}

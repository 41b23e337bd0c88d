import type { SqlFragment } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { PaymentIntent } from '../domain/intent.js';
import * as Intent from '../domain/intent.js';
import { renderIntent } from '../adapters/render.js';
import { answerProcessorCall, findCharge, insertIntent, insertProcessorCall, orphanProcessorCall, takeProcessorCall, updateIntent } from '../adapters/store.js';
import { metrics } from '../../../platform/metrics.js';
import { traced } from '../../../platform/tracing.js';
import type { RiskDecision } from '../../risk/index.js';
import type { PaymentsDeps } from './deps.js';
import type { AttemptOutcome } from './attempt-result.js';
import {
  attemptResponse,
  cardError,
  chargeFor,
  declineCodeOf,
  failAuthentication,
  legacyChargeResponse,
  settleAttempt,
  threeDSecureAction,
} from './attempt-result.js';
import { authorizationTerms, decisionFor, evaluateAttempt, recordAttempt, recordResult } from './risk-check.js';
import { openReview } from './reviews.js';
import { eventsWrite } from './events.js';
import { auditDetokenization } from './detokenization-audit.js';
import { withCardSaved } from './saved-cards.js';
import { cardSetupOf } from '../adapters/setup-store.js';

/**
 * One card attempt, in Hyperswitch's order: the attempt (its charge id, the intent now `processing`)
 * is committed durably first; the processor is called with no lock or connection held; its answer is
 * committed with a version check. An attempt whose answer was lost is settled by a status inquiry
 * (`settleOpenAttempt`), by the retry of its request or by the sweeper — never by a second
 * authorization under a new id.
 */
export interface AttemptStart {
  /** The intent as stored, or null when this request also creates it. */
  stored: PaymentIntent | null;
  /** The intent ready to confirm (payment method chosen). */
  ready: PaymentIntent;
  /** Events the request owes besides the attempt's own (`payment_intent.created`). */
  events: EventDraft[];
  /** A CVC collected with this request, checked by the processor and never stored. */
  cvc?: string | undefined;
  /** Writes recorded with the attempt, before the processor hears of it (spending the token it pays with). */
  writes?: SqlFragment[] | undefined;
}

export function runAttempt(deps: PaymentsDeps, ctx: OperationContext, start: AttemptStart): Promise<Outcome> {
  const attributes = { 'payrail.merchant_id': ctx.merchant_id, 'payrail.payment_intent_id': start.ready.id };
  // An attempt that ends without an answer (processor error, crash) counts as failed.
  return traced('payments.attempt', attributes, () => attempt(deps, ctx, start)).catch((error: unknown) => {
    if (!(error instanceof PayrailError)) metrics.payment('failed');
    throw error;
  });
}

async function attempt(deps: PaymentsDeps, ctx: OperationContext, start: AttemptStart): Promise<Outcome> {
  const { ready } = start;
  const pm_id = ready.payment_method;
  if (!pm_id) throw new Error(`intent ${ready.id}: attempt without a payment method`);
  const charge_id = ctx.ids.next('charge');
  const { method, card, audit } = await traced('vault.card_for_payment', { 'payrail.payment_method_id': pm_id, 'payrail.charge_id': charge_id }, () =>
    deps.vault.cardForPayment(ctx.reader, ctx.merchant_id, pm_id, charge_id, ctx.now_ms),
  );
  if (audit) await auditDetokenization(deps, ctx, pm_id, charge_id);
  // The BIN (first six digits) is not cardholder data to protect: Radar rules and the scorer use it.
  const check = await traced('risk.assess', { 'payrail.charge_id': charge_id }, () => evaluateAttempt(deps, ctx, ready, method, card.number.slice(0, 6)));
  const risk = check.decision;
  const audits = audit ? [audit] : [];
  if (risk.action === 'block') {
    const blocked = settleAttempt(ready, chargeFor(ctx, ready, method, charge_id, 'blocked', risk), method, audits);
    const outcome = attemptResponse(blocked);
    await ctx.commit(
      [writeIntent(start.stored, blocked.intent), ...(start.writes ?? []), ...blocked.writes, eventsWrite(ctx, [...start.events, ...blocked.events])],
      outcome,
    );
    recordAttempt(deps, check, 'blocked');
    return outcome;
  }
  const processing = Intent.beginAttempt(ready, charge_id, risk);
  const stored_credential = await storedCredential(ctx, processing);
  await ctx.record([
    writeIntent(start.stored, processing),
    ...(start.writes ?? []),
    insertProcessorCall({ merchant_id: ctx.merchant_id, id: charge_id, kind: 'authorize', payment_intent_id: processing.id }, ctx.holder, ctx.now_ms),
    ...audits,
    ...(start.events.length > 0 ? [eventsWrite(ctx, start.events)] : []),
  ]);
  return orphanOnFailure(ctx, charge_id, async () => {
    const answer = await deps.connector.authorize({
      attempt_id: charge_id,
      merchant_id: ctx.merchant_id,
      amount: processing.amount,
      currency: processing.currency,
      card: { ...card, cvc: start.cvc ?? card.cvc },
      ...authorizationTerms(processing),
      ...stored_credential,
    });
    const outcome = await finishAttempt(deps, ctx, processing, method, answer, []);
    recordResult(deps, check, answer);
    return outcome;
  });
}

/**
 * Runs what follows a recorded call. When it throws (no answer from the processor, or its answer could
 * not be committed), the outcome is unknown and the request gives up: the call goes to the sweeper at
 * once, so it is settled within seconds even if the client never retries.
 */
export async function orphanOnFailure<T>(ctx: OperationContext, call_id: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await ctx.record([orphanProcessorCall(ctx.merchant_id, call_id)]).catch(() => {});
    throw error;
  }
}

/**
 * Off session the customer cannot take a 3-D Secure step: the processor is told so, and given the
 * attempt that set the card up, if any, as its stored credential.
 */
async function storedCredential(ctx: OperationContext, intent: PaymentIntent): Promise<{ off_session: boolean; initial_attempt_id: string | null }> {
  if (!intent.off_session || !intent.payment_method) return { off_session: false, initial_attempt_id: null };
  return { off_session: true, initial_attempt_id: await cardSetupOf(ctx.reader, ctx.merchant_id, intent.payment_method) };
}

function writeIntent(stored: PaymentIntent | null, next: PaymentIntent): SqlFragment {
  return stored ? updateIntent(next, stored.version) : insertIntent(next);
}

/** What the caller of `finishAttempt` already has, so it is not read again. */
interface AlreadyKnown {
  /** The sweeper's view of the call's holder: its answer loses to a retry that took the call over. */
  seen_holder?: number | null;
}

/**
 * Commits the processor's answer to a `processing` intent: one statement, guarded by its version and
 * by the call still pending (the sweeper passes the holder it saw, so a retry that took over wins).
 */
async function finishAttempt(
  deps: PaymentsDeps,
  ctx: OperationContext,
  processing: PaymentIntent,
  method: PaymentMethodRecord,
  answer: AuthorizeResult,
  writes: SqlFragment[],
  known: AlreadyKnown = {},
): Promise<Outcome> {
  const charge_id = processing.pending_attempt;
  if (!charge_id || processing.status !== 'processing') throw new Error(`intent ${processing.id}: no attempt in flight to finish`);
  const risk = decisionFor(processing);
  const decided = answer.outcome === 'requires_action' && processing.error_on_requires_action ? await refuseAction(deps, charge_id) : answer;
  const settled = attemptOutcome(deps, ctx, processing, method, charge_id, decided, writes, risk);
  const result = await withCardSaved(deps, ctx, settled, charge_id);
  const outcome = attemptResponse(result);
  await ctx.commit(
    [
      updateIntent(result.intent, processing.version),
      answerProcessorCall(ctx.merchant_id, charge_id, known.seen_holder),
      ...result.writes,
      eventsWrite(ctx, result.events),
    ],
    outcome,
  );
  return outcome;
}

/**
 * `error_on_requires_action`: the integration cannot take the customer through 3-D Secure, so an
 * attempt that asks for it fails as the issuer's soft decline instead; the authorization waiting for
 * the step is released first (a repeat after a lost answer releases nothing more).
 */
async function refuseAction(deps: PaymentsDeps, charge_id: string): Promise<AuthorizeResult> {
  await deps.connector.void(charge_id);
  return {
    outcome: 'declined',
    code: 'authentication_required',
    decline_code: 'authentication_required',
    message: AUTHENTICATION_REQUIRED,
    cvc_check: 'unchecked',
  };
}

const AUTHENTICATION_REQUIRED = 'Your card was declined. This transaction requires authentication.';

/** What the processor's answer makes of the intent: waiting for 3-D Secure, failed authentication, or a charge. */
function attemptOutcome(
  deps: PaymentsDeps,
  ctx: OperationContext,
  processing: PaymentIntent,
  method: PaymentMethodRecord,
  charge_id: string,
  answer: AuthorizeResult,
  writes: SqlFragment[],
  risk: RiskDecision,
): AttemptOutcome {
  if (answer.outcome === 'requires_action') {
    metrics.payment('requires_action');
    const next = Intent.applyAttempt(processing, { outcome: 'requires_action', charge_id, next_action: threeDSecureAction(deps, processing) });
    return { intent: next, charge: null, writes, events: [{ type: 'payment_intent.requires_action', object: renderIntent(next) }] };
  }
  // The customer failed 3-D Secure: as in Stripe, no charge exists and the intent asks for a new method.
  if (answer.outcome === 'declined' && answer.code === 'card_declined' && answer.decline_code === AUTHENTICATION_FAILED_DECLINE) {
    const failed = failAuthentication(processing, method);
    return { ...failed, writes: [...writes, ...failed.writes] };
  }
  if (answer.outcome === 'authorized' && risk.action === 'review') {
    const opened = openReview(ctx, processing, charge_id, method.billing_details);
    const hold = { id: opened.review.id, hold: Intent.capturesAutomatically(processing) };
    const held = settleAttempt(processing, chargeFor(ctx, processing, method, charge_id, answer, risk, opened.review.id), method, writes, hold);
    return { ...held, writes: [...held.writes, opened.write], events: [...held.events, opened.event] };
  }
  return settleAttempt(processing, chargeFor(ctx, processing, method, charge_id, answer, risk), method, writes);
}

/** The decline code a processor answers for an attempt whose 3-D Secure step failed. */
const AUTHENTICATION_FAILED_DECLINE = 'authentication_required';

/**
 * Completes a 3-D Secure step: the attempt goes back in flight (the intent `processing`, its call
 * pending again under this request) before the processor hears of it, so a cancel or an update
 * racing it is turned away, and a crash leaves it to the sweeper. The processor's answer decides:
 * authorized, declined, or still waiting.
 */
export async function completeAuthentication(deps: PaymentsDeps, ctx: OperationContext, waiting: PaymentIntent, authenticated: boolean): Promise<Outcome> {
  const charge_id = waiting.pending_attempt;
  const pm_id = waiting.payment_method;
  if (waiting.status !== 'requires_action' || !charge_id || !pm_id) throw Intent.unexpectedState(waiting, 'authenticate');
  const method = await deps.vault.get(ctx.reader, ctx.merchant_id, pm_id);
  const processing: PaymentIntent = { ...waiting, status: 'processing', next_action: null, version: waiting.version + 1 };
  await ctx.record([updateIntent(processing, waiting.version), takeProcessorCall(ctx.merchant_id, charge_id, ctx.holder, ctx.now_ms, 'answered')]);
  return orphanOnFailure(ctx, charge_id, async () =>
    finishAttempt(deps, ctx, processing, method, await deps.connector.completeAuthentication(charge_id, authenticated), []),
  );
}

/** What a processor that never heard of an attempt means for it: no money moved, and the customer may try again. */
const NEVER_REACHED_PROCESSOR: AuthorizeResult = {
  outcome: 'declined',
  code: 'processing_error',
  decline_code: 'processing_error',
  message: 'An error occurred while processing your card. Try again in a little bit.',
  cvc_check: 'unchecked',
};

/** What to do when the processor never heard of an attempt whose answer was lost. */
export type WhenUnknown =
  /** The customer is waiting (a retry of the same request): send it again under the same id. */
  | 'resend'
  /** Nobody waits any more: record it as failed; no money moved. */
  | 'fail'
  /** A retry may still come and resend it: leave it for now. */
  | 'wait';

/** The attempt was left for a retry to resend (`WhenUnknown` 'wait'); the sweeper tries again later. */
export class AttemptStillOpen extends Error {}

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
  return orphanOnFailure(ctx, charge_id, async () => {
    const answer = await deps.connector.authorize({
      attempt_id: charge_id,
      merchant_id: ctx.merchant_id,
      amount: processing.amount,
      currency: processing.currency,
      card,
      ...authorizationTerms(processing),
      ...(await storedCredential(ctx, processing)),
    });
    return finishAttempt(deps, ctx, processing, method, answer, audit ? [audit] : []);
  });
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

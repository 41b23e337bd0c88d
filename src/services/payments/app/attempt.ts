import type { SqlFragment } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { AuthorizeRequest, AuthorizeResult, CardForProcessor } from '../../connectors/index.js';
import { ProcessorOutcomeUnknown } from '../../connectors/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { PaymentIntent } from '../domain/intent.js';
import * as Intent from '../domain/intent.js';
import { renderIntent } from '../adapters/render.js';
import { answerProcessorCall, insertIntent, insertProcessorCall, orphanProcessorCall, takeProcessorCall, updateIntent } from '../adapters/store.js';
import { metrics } from '../../../platform/metrics.js';
import { traced } from '../../../platform/tracing.js';
import type { RiskDecision } from '../../risk/index.js';
import type { PaymentsDeps } from './deps.js';
import type { AttemptOutcome } from './attempt-result.js';
import { attemptResponse, chargeFor, failAuthentication, settleAttempt, threeDSecureAction } from './attempt-result.js';
import { authorizationTerms, decisionFor, evaluateAttempt, recordAttempt, recordResult } from './risk-check.js';
import { openReview } from './reviews.js';
import { eventsWrite } from './events.js';
import { auditDetokenization } from './detokenization-audit.js';
import { withCardSaved } from './saved-cards.js';
import { cardSetupOf } from '../adapters/setup-store.js';
import { withConversion } from './conversion.js';
import { handOverRefused, whileInFlight } from './calls-in-flight.js';

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
  // A missing or stale rate refuses a cross-currency payment here, before anything is stored.
  const conversion = await deps.fx.conversionFor(ctx.reader, ctx.merchant_id, ready.amount, ready.currency, ctx.now_s);
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
  const processing = withConversion(Intent.beginAttempt(ready, charge_id, risk), conversion);
  const stored_credential = await storedCredential(ctx, processing);
  const request = authorizeRequest(ctx, processing, method, { ...card, cvc: start.cvc ?? card.cvc }, stored_credential);
  // The router's first try is recorded by this same statement, and how it ended by the answer's.
  const plan = (await deps.connector.planTry?.(request)) ?? undefined;
  await ctx.record([
    writeIntent(start.stored, processing),
    ...(start.writes ?? []),
    insertProcessorCall({ merchant_id: ctx.merchant_id, id: charge_id, kind: 'authorize', payment_intent_id: processing.id }, ctx.holder, ctx.now_ms),
    ...(plan ? [plan.record] : []),
    ...audits,
    ...(start.events.length > 0 ? [eventsWrite(ctx, start.events)] : []),
  ]);
  return orphanOnFailure(
    ctx,
    charge_id,
    async () => {
      const answer = await deps.connector.authorize(request, plan);
      const outcome = await finishAttempt(deps, ctx, processing, method, answer, plan?.ended ? [plan.ended] : []);
      recordResult(deps, check, answer);
      return outcome;
    },
    () => stillProcessing(ctx, processing),
  );
}

/** The authorization of `processing`'s attempt, with the facts routing rules match on (brand, country, metadata). */
export function authorizeRequest(
  ctx: OperationContext,
  processing: PaymentIntent,
  method: PaymentMethodRecord,
  card: CardForProcessor,
  stored_credential: StoredCredential,
): AuthorizeRequest {
  const charge_id = processing.pending_attempt;
  if (!charge_id) throw new Error(`intent ${processing.id}: no attempt in flight to authorize`);
  return {
    attempt_id: charge_id,
    merchant_id: ctx.merchant_id,
    amount: processing.amount,
    currency: processing.currency,
    card,
    ...authorizationTerms(processing),
    ...stored_credential,
    facts: { brand: method.card.brand, country: method.card.country, metadata: processing.metadata },
  };
}

/**
 * The processor may have made the attempt but its answer is unknown (a timeout after sending): as
 * Stripe does, the client gets the intent `processing` (200) and this answer is stored for its key.
 * The call is already the sweeper's, which settles it by status inquiry or the processor's notification
 * and then emits the usual events. The legacy Charges API has no such state: its request fails.
 */
export async function stillProcessing(ctx: OperationContext, processing: PaymentIntent): Promise<Outcome> {
  if (processing.charges_api) throw new ProcessorOutcomeUnknown(`attempt ${processing.pending_attempt ?? ''}: outcome unknown`);
  metrics.payment('processing');
  const outcome: Outcome = { ok: renderIntent(processing) };
  await ctx.commit([], outcome);
  return outcome;
}

/**
 * Runs what follows a recorded call. When it throws (no answer from the processor, or its answer could
 * not be committed), the outcome is unknown and the request gives up: the call goes to the sweeper at
 * once, so it is settled within seconds even if the client never retries. When the processor said its
 * outcome is unknown (ProcessorOutcomeUnknown), `when_unknown` answers the request instead of an error.
 */
export async function orphanOnFailure<T>(ctx: OperationContext, call_id: string, work: () => Promise<T>, when_unknown?: () => Promise<T>): Promise<T> {
  try {
    return await whileInFlight(call_id, work);
  } catch (error) {
    // Should this write fail too, this process's sweeper still finds the call: it is no longer in
    // flight here, and it is remembered as refused (its row may name no holder).
    await ctx.record([orphanProcessorCall(ctx.merchant_id, call_id)]).catch(() => handOverRefused(call_id, ctx.now_ms));
    if (when_unknown && error instanceof ProcessorOutcomeUnknown) return when_unknown();
    throw error;
  }
}

interface StoredCredential {
  off_session: boolean;
  initial_attempt_id: string | null;
}

/**
 * Off session the customer cannot take a 3-D Secure step: the processor is told so, and given the
 * attempt that set the card up, if any, as its stored credential.
 */
export async function storedCredential(ctx: OperationContext, intent: PaymentIntent): Promise<StoredCredential> {
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
export async function finishAttempt(
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
  return orphanOnFailure(
    ctx,
    charge_id,
    async () => finishAttempt(deps, ctx, processing, method, await deps.connector.completeAuthentication(charge_id, authenticated), []),
    () => stillProcessing(ctx, processing),
  );
}

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

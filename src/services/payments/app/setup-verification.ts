import type { SqlFragment } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { SetupIntent, SetupResult } from '../domain/setup-intent.js';
import { applySetupResult, authenticationFailure, unexpectedSetupState } from '../domain/setup-intent.js';
import type { NextAction } from '../domain/intent.js';
import { renderPaymentMethod } from '../adapters/render.js';
import { renderSetupIntent } from '../adapters/setup-render.js';
import { findSetupAttempt, saveSetupAttempt, writeSetupIntent } from '../adapters/setup-store.js';
import { setupAttemptFor } from '../domain/setup-attempt.js';
import type { PaymentsDeps } from './deps.js';
import { cardError } from './attempt-result.js';
import { saveCard } from './saved-cards.js';
import { eventsWrite } from './events.js';
import { auditDetokenization } from './detokenization-audit.js';

/**
 * A SetupIntent's card verification: a zero-amount authorization at the processor under a
 * `setatt_…` id reserved with the request's Idempotency-Key. It moves no money, so nothing is held
 * `processing` before the call: a retry of the same key sends the same id and the processor answers
 * from its record; a request that died leaves the intent as it was, to confirm again.
 */

/** The currency a verification is made in: a zero-amount authorization carries one, and moves none of it. */
const VERIFICATION_CURRENCY = 'usd';
/** The decline a processor answers for an attempt whose 3-D Secure step failed. */
const AUTHENTICATION_FAILED_DECLINE = 'authentication_required';

/** Verifies `ready`'s card and commits what came of it; `stored` is null when this request also creates the intent. */
export async function verifySetup(
  deps: PaymentsDeps,
  ctx: OperationContext,
  stored: SetupIntent | null,
  ready: SetupIntent,
  events: EventDraft[],
  /** A CVC sent with `payment_method_data`: checked by the processor with this verification, never stored. */
  cvc?: string,
): Promise<Outcome> {
  const pm_id = ready.payment_method;
  if (!pm_id) throw new Error(`setup intent ${ready.id}: verification without a payment method`);
  const attempt_id = ctx.ids.next('setup_attempt');
  const { method, card, audit } = await deps.vault.cardForPayment(ctx.reader, ctx.merchant_id, pm_id, attempt_id, ctx.now_ms);
  if (method.customer !== null && ready.customer !== null && method.customer !== ready.customer) {
    throw new PayrailError('payment_method_unexpected_state', {
      param: 'payment_method',
      message: "The provided PaymentMethod belongs to another customer; it cannot be set up for this SetupIntent's customer.",
    });
  }
  if (audit) await auditDetokenization(deps, ctx, pm_id, attempt_id, 'verify');
  const answer = await deps.connector.verify({
    attempt_id,
    merchant_id: ctx.merchant_id,
    currency: VERIFICATION_CURRENCY,
    card: { ...card, cvc: cvc ?? card.cvc },
  });
  return finishSetup(deps, ctx, { stored, ready, method, attempt_id, answer, writes: audit ? [audit] : [], events, attempt_created: ctx.now_s });
}

/** Completes the customer's 3-D Secure step on a verification that asked for it. */
export async function authenticateSetup(deps: PaymentsDeps, ctx: OperationContext, waiting: SetupIntent, authenticated: boolean): Promise<Outcome> {
  const attempt_id = waiting.latest_attempt;
  if (waiting.status !== 'requires_action' || !attempt_id || !waiting.payment_method) throw unexpectedSetupState(waiting, 'authenticate');
  const method = await deps.vault.get(ctx.reader, ctx.merchant_id, waiting.payment_method);
  const earlier = await findSetupAttempt(ctx.reader, ctx.merchant_id, attempt_id);
  const answer = await deps.connector.completeAuthentication(attempt_id, authenticated);
  const attempt_created = earlier?.created ?? ctx.now_s;
  return finishSetup(deps, ctx, { stored: waiting, ready: waiting, method, attempt_id, answer, writes: [], events: [], attempt_created, authenticated });
}

interface Verification {
  stored: SetupIntent | null;
  ready: SetupIntent;
  method: PaymentMethodRecord;
  attempt_id: string;
  answer: AuthorizeResult;
  writes: SqlFragment[];
  events: EventDraft[];
  /** When the attempt was first answered (its SetupAttempt's `created`). */
  attempt_created: number;
  /** Set when this answer ends the customer's 3-D Secure step: whether they passed it. */
  authenticated?: boolean;
}

/** Commits the processor's answer, guarded by the intent's version: saved card, 3-D Secure, or a decline. */
async function finishSetup(deps: PaymentsDeps, ctx: OperationContext, v: Verification): Promise<Outcome> {
  const { result, writes, events } = await setupOutcome(deps, ctx, v);
  const next = applySetupResult(v.ready, result);
  const rendered = renderSetupIntent(next);
  const cvc_check = v.answer.outcome === 'requires_action' ? 'unchecked' : v.answer.cvc_check;
  const attempt = setupAttemptFor(v.ready, result, { ...v.method.card, cvc_check }, v.authenticated, v.attempt_created);
  const outcome = setupResponse(result, rendered, v.method);
  await ctx.commit(
    [
      writeSetupIntent(v.stored, next),
      saveSetupAttempt(attempt),
      ...v.writes,
      ...writes,
      eventsWrite(ctx, [...v.events, ...events, { ...SETUP_EVENTS[result.outcome], object: rendered }]),
    ],
    outcome,
  );
  return outcome;
}

/** What the processor's answer makes of the verification, with the card saved when it was verified. */
async function setupOutcome(
  deps: PaymentsDeps,
  ctx: OperationContext,
  v: Verification,
): Promise<{ result: SetupResult; writes: SqlFragment[]; events: EventDraft[] }> {
  const { answer, ready, attempt_id } = v;
  if (answer.outcome === 'authorized') {
    const saved = await saveCard(deps, ctx, { payment_method: v.method.id, customer: ready.customer, usage: ready.usage, initial_attempt_id: attempt_id });
    return { result: { outcome: 'verified', attempt_id, payment_method: saved.method.id }, writes: saved.writes, events: saved.events };
  }
  if (answer.outcome === 'requires_action') {
    return { result: { outcome: 'requires_action', attempt_id, next_action: threeDSecureAction(deps, ready) }, writes: [], events: [] };
  }
  const error =
    answer.code === 'card_declined' && answer.decline_code === AUTHENTICATION_FAILED_DECLINE
      ? authenticationFailure(v.method)
      : { type: 'card_error' as const, code: answer.code, decline_code: answer.decline_code, message: answer.message, payment_method: v.method };
  return { result: { outcome: 'declined', attempt_id, error }, writes: [], events: [] };
}

/** The event each outcome owes (written as `type:` literals, so the event-type list test finds them). */
const SETUP_EVENTS: Record<SetupResult['outcome'], Pick<EventDraft, 'type'>> = {
  verified: { type: 'setup_intent.succeeded' },
  requires_action: { type: 'setup_intent.requires_action' },
  declined: { type: 'setup_intent.setup_failed' },
};

/** A card the issuer declined is a 402 `card_error` carrying the intent, as Stripe answers; anything else is the intent. */
function setupResponse(result: SetupResult, rendered: Record<string, unknown>, method: PaymentMethodRecord): Outcome {
  if (result.outcome !== 'declined' || result.error.type !== 'card_error') return { ok: rendered };
  const { code, decline_code, message } = result.error;
  return { error: cardError(code, decline_code, message, { setup_intent: rendered, payment_method: renderPaymentMethod(method) }) };
}

function threeDSecureAction(deps: PaymentsDeps, intent: SetupIntent): NextAction {
  return {
    type: 'redirect_to_url',
    redirect_to_url: {
      url: `${deps.public_url()}/v1/test_helpers/setup_intents/${intent.id}/authenticate?client_secret=${intent.client_secret}`,
      return_url: intent.return_url,
    },
  };
}

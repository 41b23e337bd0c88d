import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { SetupIntent, SetupResult } from '../domain/setup-intent.js';
import { applySetupResult, authenticationFailure, unexpectedSetupState } from '../domain/setup-intent.js';
import type { NextAction } from '../domain/intent.js';
import { renderPaymentMethod } from '../adapters/render.js';
import { renderSetupIntent } from '../adapters/setup-render.js';
import { writeSetupIntent } from '../adapters/setup-store.js';
import type { PaymentsDeps } from './deps.js';
import { cardError } from './attempt-result.js';
import { saveCard } from './saved-cards.js';
import { eventsWrite } from './events.js';

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
  const answer = await deps.connector.verify({
    attempt_id,
    merchant_id: ctx.merchant_id,
    currency: VERIFICATION_CURRENCY,
    card: { ...card, cvc: cvc ?? card.cvc },
  });
  return finishSetup(deps, ctx, { stored, ready, method, attempt_id, answer, writes: audit ? [audit] : [], events });
}

/** Completes the customer's 3-D Secure step on a verification that asked for it. */
export async function authenticateSetup(deps: PaymentsDeps, ctx: OperationContext, waiting: SetupIntent, authenticated: boolean): Promise<Outcome> {
  const attempt_id = waiting.latest_attempt;
  if (waiting.status !== 'requires_action' || !attempt_id || !waiting.payment_method) throw unexpectedSetupState(waiting, 'authenticate');
  const method = await deps.vault.get(ctx.reader, ctx.merchant_id, waiting.payment_method);
  const answer = await deps.connector.completeAuthentication(attempt_id, authenticated);
  return finishSetup(deps, ctx, { stored: waiting, ready: waiting, method, attempt_id, answer, writes: [], events: [] });
}

interface Verification {
  stored: SetupIntent | null;
  ready: SetupIntent;
  method: PaymentMethodRecord;
  attempt_id: string;
  answer: AuthorizeResult;
  writes: SqlFragment[];
  events: EventDraft[];
}

/** Commits the processor's answer, guarded by the intent's version: saved card, 3-D Secure, or a decline. */
async function finishSetup(deps: PaymentsDeps, ctx: OperationContext, v: Verification): Promise<Outcome> {
  const { answer, ready, attempt_id } = v;
  let result: SetupResult;
  const writes = [...v.writes];
  const events = [...v.events];
  if (answer.outcome === 'authorized') {
    const saved = await saveCard(deps, ctx, v.method.id, ready.customer, attempt_id);
    writes.push(...saved.writes);
    events.push(...saved.events);
    result = { outcome: 'verified', attempt_id, payment_method: saved.method.id };
  } else if (answer.outcome === 'requires_action') {
    result = { outcome: 'requires_action', attempt_id, next_action: threeDSecureAction(deps, ready) };
  } else if (answer.code === 'card_declined' && answer.decline_code === AUTHENTICATION_FAILED_DECLINE) {
    result = { outcome: 'declined', attempt_id, error: authenticationFailure(v.method) };
  } else {
    const error = { type: 'card_error' as const, code: answer.code, decline_code: answer.decline_code, message: answer.message, payment_method: v.method };
    result = { outcome: 'declined', attempt_id, error };
  }
  const next = applySetupResult(ready, result);
  const rendered = renderSetupIntent(next);
  events.push({ ...SETUP_EVENTS[result.outcome], object: rendered });
  const outcome = setupResponse(result, rendered, v.method);
  await ctx.commit([writeSetupIntent(v.stored, next), ...writes, eventsWrite(ctx, events)], outcome);
  return outcome;
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

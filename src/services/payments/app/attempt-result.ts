import type { SqlFragment } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { AuthorizeResult } from '../../connectors/index.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { RiskDecision } from '../../risk/index.js';
import { sellerMessage } from '../../risk/index.js';
import type { AttemptResult, PaymentIntent } from '../domain/intent.js';
import { applyAttempt } from '../domain/intent.js';
import type { Charge } from '../domain/charge.js';
import { destinationTermsOf } from '../domain/destination.js';
import type { Outcome } from '../../../platform/write/operation.js';
import { renderCharge, renderIntent, renderPaymentMethod } from '../adapters/render.js';
import { insertCharge } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { withChargeFacts } from './events.js';
import { metrics } from '../../../platform/metrics.js';

/** The result of one card attempt: the intent after it, what to write, and the events to record. */
export interface AttemptOutcome {
  intent: PaymentIntent;
  charge: Charge | null;
  writes: SqlFragment[];
  events: EventDraft[];
}

/**
 * Records a finished attempt (authorized or declined) on the intent, with its charge and events. An
 * attempt placed in review (`review`) is authorized and held; the review's own record and event are
 * the caller's (reviews.ts `openReview`).
 */
export function settleAttempt(
  intent: PaymentIntent,
  charge: Charge,
  method: PaymentMethodRecord,
  writes: SqlFragment[],
  review?: { id: string; hold: boolean },
): AttemptOutcome {
  metrics.payment(charge.status === 'succeeded' ? 'succeeded' : charge.outcome.type === 'blocked' ? 'blocked' : 'declined', charge.outcome.reason);
  const result: AttemptResult =
    charge.status === 'succeeded'
      ? { outcome: 'authorized', captured: charge.captured, charge_id: charge.id, review }
      : {
          outcome: 'declined',
          charge_id: charge.id,
          error: {
            type: 'card_error',
            code: charge.failure_code ?? 'card_declined',
            decline_code: declineCodeOf(charge),
            message: charge.failure_message ?? 'Your card was declined.',
            charge: charge.id,
            payment_method_id: charge.payment_method,
            payment_method: method,
          },
        };
  const next = applyAttempt(intent, result);
  const rendered_charge = renderCharge(charge);
  const events: EventDraft[] =
    charge.status === 'succeeded'
      ? [withChargeFacts({ type: 'charge.succeeded', object: rendered_charge }, charge), authorizedIntentEvent(next)]
      : [
          { type: 'charge.failed', object: rendered_charge },
          { type: 'payment_intent.payment_failed', object: renderIntent(next) },
        ];
  // A legacy Charges API charge has no PaymentIntent to tell of: only its charge events are Stripe's.
  const shown = intent.charges_api ? events.filter((event) => event.type.startsWith('charge.')) : events;
  return { intent: next, charge, writes: [...writes, insertCharge(charge)], events: shown };
}

/** What an authorized attempt tells of its intent: captured, held for review (uncaptured, automatic capture), or capturable. */
function authorizedIntentEvent(next: PaymentIntent): EventDraft {
  const object = renderIntent(next);
  if (next.status === 'succeeded') return { type: 'payment_intent.succeeded', object };
  if (next.status === 'processing') return { type: 'payment_intent.processing', object };
  return { type: 'payment_intent.amount_capturable_updated', object };
}

/**
 * The customer failed 3-D Secure. As in Stripe, the card is never charged: no charge exists, and the
 * intent asks for a new payment method with `payment_intent_authentication_failure`.
 */
export function failAuthentication(intent: PaymentIntent, method: PaymentMethodRecord): AttemptOutcome {
  metrics.payment('declined', 'authentication_failure');
  const next = applyAttempt(intent, {
    outcome: 'authentication_failed',
    error: {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      decline_code: null,
      message:
        'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
      charge: null,
      payment_method_id: method.id,
      payment_method: method,
    },
  });
  return { intent: next, charge: null, writes: [], events: [{ type: 'payment_intent.payment_failed', object: renderIntent(next) }] };
}

/** A declined attempt is a stored result: the intent changed, and the client gets a card error. */
export function attemptResponse(outcome: AttemptOutcome, method_payload?: Record<string, unknown>): Outcome {
  if (outcome.intent.charges_api && outcome.charge) return legacyChargeResponse(outcome.charge);
  const error = outcome.intent.last_payment_error;
  if (outcome.intent.status !== 'requires_payment_method' || !error || !outcome.charge) return { ok: renderIntent(outcome.intent) };
  return {
    error: cardError(error.code, error.decline_code, error.message, {
      charge: outcome.charge.id,
      payment_intent: renderIntent(outcome.intent),
      ...(method_payload ? { payment_method: method_payload } : error.payment_method ? { payment_method: renderPaymentMethod(error.payment_method) } : {}),
    }),
  };
}

/** The legacy Charges API answers with the charge, or a card error naming it, as Stripe's `POST /v1/charges` does. */
export function legacyChargeResponse(charge: Charge): Outcome {
  // A new charge has no refunds yet: the list is empty, as a retrieve would show it.
  if (charge.status !== 'failed') return { ok: renderCharge(charge, { data: [], has_more: false }) };
  const message = charge.failure_message ?? 'Your card was declined.';
  return { error: cardError(charge.failure_code ?? 'card_declined', declineCodeOf(charge), message, { charge: charge.id }) };
}

/** A payment risk blocked declines as Stripe's do: `card_declined` with `decline_code` `fraudulent`. */
export function declineCodeOf(charge: Charge): string | null {
  return charge.outcome.type === 'blocked' ? 'fraudulent' : charge.outcome.reason;
}

/**
 * The charge for a finished attempt: authorized (or placed in review: `review_id`), declined by the
 * issuer, or blocked by risk. Its outcome carries the risk evaluation as Stripe reports it.
 */
export function chargeFor(
  ctx: OperationContext,
  intent: PaymentIntent,
  method: PaymentMethodRecord,
  charge_id: string,
  authorization: Exclude<AuthorizeResult, { outcome: 'requires_action' }> | 'blocked',
  risk: RiskDecision,
  review_id: string | null = null,
): Charge {
  const base = chargeBase(ctx, intent, method, charge_id);
  const evaluation = { risk_level: risk.risk_level, risk_score: risk.risk_score, rule: risk.rule };
  const card = { ...method.card, cvc_check: authorization === 'blocked' ? null : authorization.cvc_check };
  if (authorization === 'blocked') {
    return Object.assign(base, {
      card,
      status: 'failed',
      captured: false,
      amount_captured: 0,
      failure_code: 'card_declined',
      failure_message: 'Your card was declined.',
      outcome: { network_status: 'not_sent_to_network', reason: risk.reason, ...evaluation, seller_message: sellerMessage(risk), type: 'blocked' },
    } as const);
  }
  if (authorization.outcome === 'declined') {
    return Object.assign(base, {
      card,
      status: 'failed',
      captured: false,
      amount_captured: 0,
      failure_code: authorization.code,
      failure_message: authorization.message,
      ...(authorization.routing ? { routing: authorization.routing } : {}),
      outcome: {
        network_status: 'declined_by_network',
        reason: authorization.decline_code,
        ...evaluation,
        seller_message: 'The bank did not return any further details with this decline.',
        type: 'issuer_declined',
      },
    } as const);
  }
  return Object.assign(base, {
    card,
    status: 'succeeded',
    captured: authorization.captured,
    amount_captured: authorization.captured ? intent.amount : 0,
    failure_code: null,
    failure_message: null,
    review: review_id,
    ...(authorization.funds ? { funds: authorization.funds } : {}),
    ...(authorization.routing ? { routing: authorization.routing } : {}),
    outcome: review_id
      ? ({ network_status: 'approved_by_network', reason: risk.reason, ...evaluation, seller_message: sellerMessage(risk), type: 'manual_review' } as const)
      : ({ network_status: 'approved_by_network', reason: risk.reason, ...evaluation, seller_message: 'Payment complete.', type: 'authorized' } as const),
  } as const);
}

type ChargeBase = Omit<
  Charge,
  'card' | 'status' | 'captured' | 'amount_captured' | 'failure_code' | 'failure_message' | 'review' | 'funds' | 'routing' | 'outcome'
>;

/**
 * What every charge of `intent` starts from. The outcome's fields are added to it with Object.assign,
 * not by spreading it into a larger literal: V8 gives the spread copy of a large object a hidden class
 * of its own, so each key added after the spread makes a new class, in old space (docs/architecture.md,
 * "Hot path in Node").
 */
function chargeBase(ctx: OperationContext, intent: PaymentIntent, method: PaymentMethodRecord, charge_id: string): ChargeBase {
  return {
    id: charge_id,
    merchant_id: ctx.merchant_id,
    payment_intent: intent.id,
    amount: intent.amount,
    amount_refunded: 0,
    currency: intent.currency,
    customer: intent.customer,
    payment_method: method.id,
    description: intent.description,
    metadata: intent.metadata,
    receipt_email: intent.receipt_email,
    ...(intent.charges_api ? { charges_api: intent.charges_api } : {}),
    ...destinationTermsOf(intent),
    billing_details: method.billing_details,
    shipping: intent.shipping ?? null,
    statement_descriptor: intent.statement_descriptor,
    statement_descriptor_suffix: intent.statement_descriptor_suffix,
    ...(intent.fx ? { fx: intent.fx } : {}),
    created: ctx.now_s,
    version: 1,
  };
}

export function threeDSecureAction(deps: PaymentsDeps, intent: PaymentIntent): PaymentIntent['next_action'] & object {
  return {
    type: 'redirect_to_url',
    redirect_to_url: {
      url: `${deps.public_url()}/v1/test_helpers/payment_intents/${intent.id}/authenticate?client_secret=${intent.client_secret}`,
      return_url: intent.return_url,
    },
  };
}

export function cardError(code: string, decline_code: string | null, message: string, extra: Record<string, unknown>): PayrailError {
  const known = ['card_declined', 'expired_card', 'incorrect_cvc', 'processing_error', 'authentication_required'] as const;
  const registry_code = (known as readonly string[]).includes(code) ? (code as (typeof known)[number]) : 'card_declined';
  return new PayrailError(registry_code, { message, decline_code: decline_code ?? undefined, extra });
}

import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import { outboxInsert } from '../../events/index.js';
import { retrieveIntent, retrieveSetupIntent } from '../../payments/index.js';
import type { CheckoutSession, CustomerDetails } from '../domain/session.js';
import * as Session from '../domain/session.js';
import { renderSession } from '../adapters/render.js';
import { getSession, updateSession } from '../adapters/store.js';
import type { CheckoutDeps } from './deps.js';

/**
 * What the hosted page's actions share: running a use case of this service or of payments through the
 * write pipeline for the session's merchant, and completing the session once its payment went through.
 */

export type Json = Record<string, unknown>;

/** A use case's answer as the page sees it: the object, or Stripe's error body with its status. */
export type Answer = { ok: true; body: Json } | { ok: false; status: number; body: Json };

export async function runFor<P>(
  deps: CheckoutDeps,
  merchant_id: string,
  request_id: string,
  use_case: UseCase<P>,
  params: P,
  idempotency_key?: string,
): Promise<Answer> {
  const idempotency = idempotency_key === undefined ? undefined : { key: idempotency_key, method: 'POST', path: '/c/pay', params };
  const { response } = await execute(deps.write, { merchant_id, request_id, idempotency }, use_case, params);
  const body = JSON.parse(response.body) as Json;
  return response.status === 200 ? { ok: true, body } : { ok: false, status: response.status, body };
}

/** PaymentIntent states in which the money went through: captured, or held for a manual capture. */
const PAID: ReadonlySet<unknown> = new Set(['succeeded', 'requires_capture']);

/**
 * Completes the session when its PaymentIntent went through (or its SetupIntent saved the card):
 * after the page's payment or 3-D Secure, or later, whenever the page is opened again or the expiry
 * sweep looks at it (a completion lost to a crash is made then).
 */
export async function completeIfDone(deps: CheckoutDeps, session: CheckoutSession, request_id: string, details: CustomerDetails): Promise<CheckoutSession> {
  if (session.status !== 'open') return session;
  let completion: { captured: boolean; details: CustomerDetails } | undefined;
  if (session.payment_intent !== null) {
    const intent = await retrieveIntent(deps.payments, session.merchant_id, session.payment_intent);
    if (PAID.has(intent.status)) completion = { captured: intent.status === 'succeeded', details };
  } else if (session.setup_intent !== null) {
    const setup = await retrieveSetupIntent(deps.payments, session.merchant_id, session.setup_intent);
    if (setup.status === 'succeeded') completion = { captured: false, details };
  }
  if (!completion) return session;
  const done = completion;
  await runFor(deps, session.merchant_id, request_id, { reserves: [], run: (ctx) => completeSession(deps, ctx, session.id, done) }, {});
  return getSession(deps.write.reader, session.merchant_id, session.id);
}

/** Completes the session and emits `checkout.session.completed`; a session already complete is left as it is. */
export async function completeSession(
  deps: CheckoutDeps,
  ctx: OperationContext,
  id: string,
  result: { captured: boolean; details: CustomerDetails },
): Promise<Outcome> {
  const before = await getSession(ctx.reader, ctx.merchant_id, id);
  if (before.status === 'complete') return { ok: renderSession(before, deps.public_url()) };
  const completed = Session.complete(before, result);
  const rendered = renderSession(completed, deps.public_url());
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      updateSession(completed, before.version),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: 'checkout.session.completed', object: rendered }]),
    ],
    outcome,
  );
  return outcome;
}

/** Records the session's PaymentIntent or SetupIntent, created on the first submission (Stripe creates them lazily too). */
export async function recordIntent(ctx: OperationContext, id: string, intent: { payment_intent: string } | { setup_intent: string }): Promise<Outcome> {
  const before = await getSession(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id } };
  if ('payment_intent' in intent ? before.payment_intent === intent.payment_intent : before.setup_intent === intent.setup_intent) return outcome;
  await ctx.commit([updateSession(Session.withIntent(before, intent), before.version)], outcome);
  return outcome;
}

/** Counts a card submission of the hosted page before the card goes anywhere (see Session.countAttempt). */
export async function recordAttempt(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getSession(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id } };
  await ctx.commit([updateSession(Session.countAttempt(before), before.version)], outcome);
  return outcome;
}

import { sameSecret } from '../../../kernel/secrets.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import type { CreatePaymentMethodParams } from '../../payments/index.js';
import { authenticateIntent, authenticateSetupIntent, confirmIntent, confirmSetupIntent, createPaymentMethod } from '../../payments/index.js';
import type { CheckoutSession, CustomerDetails } from '../domain/session.js';
import * as Session from '../domain/session.js';
import { findSessionById, getSession } from '../adapters/store.js';
import type { Answer, Json } from './hosted.js';
import { completeIfDone, recordAttempt, runFor } from './hosted.js';
import { sessionIntent } from './session-intents.js';
import type { CheckoutDeps } from './deps.js';

/**
 * The hosted page's actions. The page proves it was given the session's URL with the page secret from
 * its fragment. Card data goes straight to the payments service's PaymentMethod use case (the vault),
 * then the session's one PaymentIntent (or SetupIntent) is confirmed with it, under idempotency keys
 * derived from the session, so a double submit or a retry never pays twice.
 */

export interface PayInput {
  card: CreatePaymentMethodParams['card'];
  email: string;
  name: string | null;
}

/** What the page does next: go to `redirect`, show 3-D Secure, or show the error. */
export type PageResult = { next: 'redirect'; url: string } | { next: 'authenticate' } | { next: 'error'; status: number; error: Json };

export async function openSession(deps: CheckoutDeps, id: string, secret: string): Promise<CheckoutSession> {
  const session = await findSessionById(deps.lookup, id);
  if (!session || !sameSecret(session.page_secret, secret)) throw new PayrailError('resource_missing', { message: 'No such checkout session.' });
  return session;
}

export async function pay(deps: CheckoutDeps, opened: CheckoutSession, input: PayInput, request_id: string): Promise<PageResult> {
  const details: CustomerDetails = { email: input.email, name: input.name };
  // A payment that went through but whose completion was lost (a crash) completes now, and pays nothing more.
  const session = await completeIfDone(deps, opened, request_id, opened.customer_details ?? details);
  if (session.status === 'complete' && opened.status === 'open') return { next: 'redirect', url: Session.redirectUrl(session.success_url, session.id) };
  Session.requireOpen(session, 'paid');
  const counted = await runFor(deps, session.merchant_id, request_id, { reserves: [], run: (ctx) => recordAttempt(ctx, session.id) }, {});
  if (!counted.ok) return errorResult(counted);
  const method = await runFor(
    deps,
    session.merchant_id,
    request_id,
    { reserves: ['payment_method'], run: (ctx, p: CreatePaymentMethodParams) => createPaymentMethod(deps.payments, ctx, p) },
    { card: input.card, billing_details: { email: input.email, name: input.name ?? undefined } },
  );
  if (!method.ok) return errorResult(method);
  const payment_method = String(method.body.id);
  const intent = await sessionIntent(deps, session, input.email, request_id);
  const confirm: UseCase<{ payment_method: string }> = {
    reserves: intent.kind === 'payment_intent' ? ['charge'] : ['payment_method'],
    run: (ctx, p) =>
      intent.kind === 'payment_intent' ? confirmIntent(deps.payments, ctx, intent.id, p) : confirmSetupIntent(deps.payments, ctx, intent.id, p),
  };
  const confirmed = await runFor(deps, session.merchant_id, request_id, confirm, { payment_method }, `checkout:${session.id}:confirm:${payment_method}`);
  if (!confirmed.ok) return errorResult(confirmed);
  return afterConfirm(deps, await getSession(deps.write.reader, session.merchant_id, session.id), confirmed.body, request_id, details);
}

/** 3-D Secure on the hosted page: the customer completes or fails it, and the attempt resumes. */
export async function authenticate(
  deps: CheckoutDeps,
  session: CheckoutSession,
  succeeded: boolean,
  request_id: string,
  details: CustomerDetails,
): Promise<PageResult> {
  Session.requireOpen(session, 'paid');
  const { payment_intent, setup_intent } = session;
  const use_case: UseCase<Record<string, never>> | undefined =
    payment_intent !== null
      ? { reserves: [], run: (ctx) => authenticateIntent(deps.payments, ctx, payment_intent, succeeded) }
      : setup_intent !== null
        ? { reserves: ['payment_method'], run: (ctx) => authenticateSetupIntent(deps.payments, ctx, setup_intent, succeeded) }
        : undefined;
  if (!use_case) throw new PayrailError('checkout_session_unexpected_state', { message: 'Nothing to authenticate: this session has no payment yet.' });
  const answer = await runFor(deps, session.merchant_id, request_id, use_case, {});
  if (!answer.ok) return errorResult(answer);
  return afterConfirm(deps, session, answer.body, request_id, details);
}

async function afterConfirm(deps: CheckoutDeps, session: CheckoutSession, intent: Json, request_id: string, details: CustomerDetails): Promise<PageResult> {
  if (intent.status === 'requires_action') return { next: 'authenticate' };
  if (intent.status === 'requires_payment_method') {
    const error = (intent.last_payment_error ?? intent.last_setup_error ?? { message: 'Your card was declined.' }) as Json;
    return { next: 'error', status: 402, error };
  }
  const completed = await completeIfDone(deps, session, request_id, details);
  if (completed.status !== 'complete')
    return { next: 'error', status: 409, error: { message: 'The payment is still processing; reload this page in a moment.' } };
  return { next: 'redirect', url: Session.redirectUrl(completed.success_url, completed.id) };
}

function errorResult(answer: Answer & { ok: false }): PageResult {
  return { next: 'error', status: answer.status, error: (answer.body.error ?? {}) as Json };
}

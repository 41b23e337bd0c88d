import { PayrailError } from '../../../kernel/errors.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import { createIntent, createSetupIntent } from '../../payments/index.js';
import type { CheckoutSession } from '../domain/session.js';
import * as Session from '../domain/session.js';
import { recordIntent, runFor } from './hosted.js';
import type { CheckoutDeps } from './deps.js';

/**
 * The session's one PaymentIntent (payment mode) or SetupIntent (setup mode), created on the first
 * submission through the payments service: a retry of its key replays it, and the session records it.
 */
export async function sessionIntent(
  deps: CheckoutDeps,
  session: CheckoutSession,
  email: string,
  request_id: string,
): Promise<{ kind: 'payment_intent' | 'setup_intent'; id: string }> {
  if (session.payment_intent !== null) return { kind: 'payment_intent', id: session.payment_intent };
  if (session.setup_intent !== null) return { kind: 'setup_intent', id: session.setup_intent };
  const id = session.mode === 'payment' ? await createPaymentIntent(deps, session, email, request_id) : await createSetup(deps, session, request_id);
  const recorded = session.mode === 'payment' ? { payment_intent: id } : { setup_intent: id };
  await runFor(deps, session.merchant_id, request_id, { reserves: [], run: (ctx) => recordIntent(ctx, session.id, recorded) }, {});
  return { kind: session.mode === 'payment' ? 'payment_intent' : 'setup_intent', id };
}

async function createPaymentIntent(deps: CheckoutDeps, session: CheckoutSession, email: string, request_id: string): Promise<string> {
  const data = session.payment_intent_data;
  const params = {
    amount: Session.amountSubtotal(session),
    currency: session.currency ?? '',
    customer: session.customer ?? undefined,
    description: data.description ?? undefined,
    metadata: data.metadata,
    capture_method: data.capture_method ?? undefined,
    receipt_email: data.receipt_email ?? session.customer_email ?? email,
    setup_future_usage: data.setup_future_usage ?? undefined,
    statement_descriptor: data.statement_descriptor ?? undefined,
    statement_descriptor_suffix: data.statement_descriptor_suffix ?? undefined,
  };
  const use_case: UseCase<typeof params> = { reserves: ['payment_intent', 'charge'], run: (ctx, p) => createIntent(deps.payments, ctx, p) };
  return createdId(await runFor(deps, session.merchant_id, request_id, use_case, params, `checkout:${session.id}:payment_intent`));
}

async function createSetup(deps: CheckoutDeps, session: CheckoutSession, request_id: string): Promise<string> {
  const params = { customer: session.customer ?? undefined, usage: 'off_session' as const, payment_method_types: ['card'] };
  const use_case: UseCase<typeof params> = { reserves: ['setup_intent'], run: (ctx, p) => createSetupIntent(deps.payments, ctx, p) };
  return createdId(await runFor(deps, session.merchant_id, request_id, use_case, params, `checkout:${session.id}:setup_intent`));
}

function createdId(answer: Awaited<ReturnType<typeof runFor>>): string {
  if (!answer.ok) throw new PayrailError('api_error', { message: "The Checkout Session's intent could not be created." });
  return String(answer.body.id);
}

import { randomBytesPooled } from '../../../kernel/random.js';
import { sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { sameSecret } from '../../../kernel/secrets.js';
import { currencyInfo, minimumChargeMessage } from '../../../kernel/money.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { EventDraft } from '../../events/index.js';
import type { CancellationReason, CaptureMethod, IntentChanges, PaymentIntent } from '../domain/intent.js';
import { DEFAULT_CARD_OPTIONS } from '../domain/details.js';
import * as Intent from '../domain/intent.js';
import { captureCharge } from '../domain/charge.js';
import { renderCharge, renderIntent } from '../adapters/render.js';
import { findIntent, getCharge, getCustomer, getIntent, insertIntent, updateCharge, updateIntent } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { completeAuthentication, runAttempt } from './attempt.js';
import { leftByThisKey, resumeAttempt } from './open-attempts.js';
import type { DestinationParams } from './destination-params.js';
import { termsForCreate, termsForUpdate } from './destination-params.js';
import { closeReviewOnCancel } from './reviews.js';
import { eventsWrite, withChargeFacts } from './events.js';
import { withConversion } from './conversion.js';
import type { CaptureParams, ConfirmOnlyParams, IntentOptionParams, ShippingParams } from './intent-params.js';
import {
  capturedDescriptors,
  cardOptions,
  choosePaymentMethod,
  confirmFlags,
  definedChanges,
  refuseConfirmOnly,
  shippingOf,
  withCaptureChanges,
} from './intent-params.js';

export interface CreateIntentParams extends IntentOptionParams, ConfirmOnlyParams, DestinationParams {
  amount: number;
  currency: string;
  automatic_payment_methods?: { enabled: boolean; allow_redirects?: 'always' | 'never' | undefined } | undefined;
  capture_method?: CaptureMethod | undefined;
  confirmation_method?: 'automatic' | 'manual' | undefined;
  confirm?: boolean | undefined;
  customer?: string | undefined;
  payment_method?: string | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  receipt_email?: string | null | undefined;
  statement_descriptor?: string | null | undefined;
  statement_descriptor_suffix?: string | null | undefined;
  setup_future_usage?: 'off_session' | 'on_session' | undefined;
  shipping?: ShippingParams | undefined;
  /** Internal: the invoice the intent pays (never a route parameter; the billing service sets it). */
  invoice?: string | undefined;
}

function checkMinimum(amount: number, currency: string, param = 'amount'): void {
  const info = currencyInfo(currency);
  if (info && amount < info.min_charge_amount) {
    throw new PayrailError('amount_too_small', { param, message: minimumChargeMessage(currency) });
  }
}

/**
 * Creates an intent and, with `confirm`, charges it: the payments hot path. A retry of a request that
 * died resumes the intent it left under its reserved id instead of creating another.
 */
export async function createIntent(deps: PaymentsDeps, ctx: OperationContext, params: CreateIntentParams): Promise<Outcome> {
  checkMinimum(params.amount, params.currency);
  if (params.automatic_payment_methods && params.payment_method_types) {
    throw new PayrailError('parameters_exclusive', {
      param: 'payment_method_types',
      message: 'You may only specify one of these parameters: automatic_payment_methods, payment_method_types.',
    });
  }
  if (!params.confirm) refuseConfirmOnly(params);
  const left = ctx.resumed ? await findIntent(ctx.reader, ctx.merchant_id, ctx.reserved('payment_intent') ?? '') : undefined;
  if (left) return resumeAttempt(deps, ctx, left);
  if (params.customer) await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer');
  const terms = await termsForCreate(ctx.reader, ctx.merchant_id, params, params);
  const chosen = await choosePaymentMethod(deps, ctx, params);
  const intent = {
    ...newIntent(ctx, params),
    ...terms,
    payment_method: chosen.id,
    status: chosen.id ? 'requires_confirmation' : 'requires_payment_method',
  } as const;
  // Rendered objects are only serialized, never changed, so one rendering serves event and response.
  const created = renderIntent(intent);
  const created_event: EventDraft = { type: 'payment_intent.created', object: created };
  if (!params.confirm) {
    const outcome: Outcome = { ok: created };
    await ctx.commit([...chosen.writes, insertIntent(intent), eventsWrite(ctx, [created_event])], outcome);
    return outcome;
  }
  if (chosen.writes.length > 0) await ctx.record(chosen.writes);
  const ready = { ...Intent.beginConfirm(intent, null), ...confirmFlags(params) };
  return runAttempt(deps, ctx, { stored: null, ready, events: [created_event], cvc: chosen.cvc });
}

function newIntent(ctx: OperationContext, params: CreateIntentParams): PaymentIntent {
  const id = ctx.ids.next('payment_intent');
  return {
    id,
    merchant_id: ctx.merchant_id,
    amount: params.amount,
    currency: params.currency,
    status: 'requires_payment_method',
    capture_method: params.capture_method ?? 'automatic',
    confirmation_method: params.confirmation_method ?? 'automatic',
    customer: params.customer ?? null,
    payment_method: null,
    amount_capturable: 0,
    amount_received: 0,
    latest_charge: null,
    description: params.description ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    last_payment_error: null,
    next_action: null,
    cancellation_reason: null,
    canceled_at: null,
    receipt_email: params.receipt_email ?? null,
    statement_descriptor: params.statement_descriptor ?? null,
    statement_descriptor_suffix: params.statement_descriptor_suffix ?? null,
    setup_future_usage: params.setup_future_usage ?? null,
    return_url: params.return_url ?? null,
    client_secret: `${id}_secret_${randomBytesPooled(12).toString('base64url')}`,
    automatic_payment_methods: automaticPaymentMethods(params),
    payment_method_types: params.payment_method_types ?? ['card'],
    payment_method_options: { card: cardOptions(DEFAULT_CARD_OPTIONS, params.payment_method_options) },
    shipping: params.shipping ? shippingOf(params.shipping) : null,
    ...(params.invoice ? { invoice: params.invoice } : {}),
    // Set from the start, so confirming and attempting only override keys: V8 makes a new hidden class
    // for each key added to a spread copy of an object this large (docs/architecture.md, "Hot path in Node").
    error_on_requires_action: false,
    off_session: false,
    pending_attempt: null,
    pending_risk: null,
    review: null,
    created: ctx.now_s,
    version: 1,
  };
}

/**
 * Stripe's 2023-08-16 default: without `payment_method_types`, automatic payment methods are on. Of
 * the methods Payrail has, that is cards, which never redirect the customer away.
 */
function automaticPaymentMethods(params: CreateIntentParams): PaymentIntent['automatic_payment_methods'] {
  if (params.payment_method_types) return null;
  const requested = params.automatic_payment_methods ?? { enabled: true };
  return requested.enabled ? { enabled: true, allow_redirects: requested.allow_redirects ?? 'always' } : null;
}

export interface ConfirmParams extends IntentOptionParams, ConfirmOnlyParams {
  payment_method?: string | undefined;
  receipt_email?: string | null | undefined;
  setup_future_usage?: 'off_session' | 'on_session' | undefined;
  capture_method?: CaptureMethod | undefined;
  shipping?: ShippingParams | null | undefined;
  client_secret?: string | undefined;
}

export async function confirmIntent(deps: PaymentsDeps, ctx: OperationContext, id: string, params: ConfirmParams): Promise<Outcome> {
  const before = await getIntent(ctx.reader, ctx.merchant_id, id);
  if (await leftByThisKey(ctx, before)) return resumeAttempt(deps, ctx, before);
  if (params.client_secret !== undefined && !sameSecret(before.client_secret, params.client_secret)) {
    throw new PayrailError('parameter_invalid', {
      param: 'client_secret',
      message: 'The client_secret provided does not match the client_secret of this PaymentIntent.',
    });
  }
  const chosen = await choosePaymentMethod(deps, ctx, params);
  const ready: PaymentIntent = {
    ...Intent.beginConfirm(before, chosen.id),
    ...definedChanges(before, params),
    return_url: params.return_url ?? before.return_url,
    receipt_email: params.receipt_email !== undefined ? params.receipt_email : before.receipt_email,
    setup_future_usage: params.setup_future_usage ?? before.setup_future_usage,
    capture_method: params.capture_method ?? before.capture_method,
    ...confirmFlags(params),
  };
  if (chosen.writes.length > 0) await ctx.record(chosen.writes);
  return runAttempt(deps, ctx, { stored: before, ready, events: [], cvc: chosen.cvc });
}

/**
 * Takes the intent for a change that needs the processor (capture, cancel, 3-D Secure): a durable
 * version bump first, so a racing change is turned away before either reaches the processor, and no
 * lock is held while it answers.
 */
async function claimIntent(ctx: OperationContext, before: PaymentIntent): Promise<PaymentIntent> {
  const claimed = Intent.claim(before);
  await ctx.record([updateIntent(claimed, before.version)]);
  return claimed;
}

/**
 * Completes a 3-D Secure step (the sandbox's test page): the pending attempt resumes at the processor.
 * The customer's step (the redirect URL) carries the intent's client_secret, which must be this intent's.
 */
export async function authenticateIntent(
  deps: PaymentsDeps,
  ctx: OperationContext,
  id: string,
  authenticated: boolean,
  client_secret?: string,
): Promise<Outcome> {
  const waiting = await getIntent(ctx.reader, ctx.merchant_id, id);
  if (client_secret !== undefined && !sameSecret(waiting.client_secret, client_secret)) {
    throw new PayrailError('parameter_invalid', {
      param: 'client_secret',
      message: 'The client_secret provided does not match the client_secret of this PaymentIntent.',
    });
  }
  return completeAuthentication(deps, ctx, waiting, authenticated);
}

export async function captureIntent(deps: PaymentsDeps, ctx: OperationContext, id: string, params: CaptureParams): Promise<Outcome> {
  const before = await getIntent(ctx.reader, ctx.merchant_id, id);
  const { amount } = Intent.capture(before, params.amount_to_capture);
  checkMinimum(amount, before.currency, 'amount_to_capture');
  const charge_id = before.latest_charge;
  if (!charge_id) throw new Error(`intent ${id}: requires_capture without a charge`);
  const charge_before = await getCharge(ctx.reader, ctx.merchant_id, charge_id);
  // Converted at capture: a fresh rate, or no capture (nothing stored, the processor not called).
  const conversion = await deps.fx.conversionFor(ctx.reader, ctx.merchant_id, amount, before.currency, ctx.now_s);
  const claimed = await claimIntent(ctx, before);
  // Repeated after a lost answer, the processor answers from its record and captures nothing more.
  const captured = await deps.connector.capture(charge_id, amount);
  if (captured.outcome === 'failed') throw new PayrailError('processing_error', { message: captured.message });
  // What the processor captured is what moved: a repeat after a lost answer gets the first amount back.
  const { intent } = Intent.capture(withCaptureChanges(claimed, params), captured.amount_captured);
  const charge = withConversion({ ...captureCharge(charge_before, captured.amount_captured), ...capturedDescriptors(charge_before, params) }, conversion);
  const rendered = renderIntent(intent);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      updateIntent(intent, claimed.version),
      updateCharge(charge, charge_before.version),
      eventsWrite(ctx, [
        withChargeFacts({ type: 'charge.captured', object: renderCharge(charge), previous_attributes: { captured: false, amount_captured: 0 } }, charge),
        { type: 'payment_intent.succeeded', object: rendered },
      ]),
    ],
    outcome,
  );
  return outcome;
}

/**
 * Stripe raises an authorization only for intents created with incremental authorization requested,
 * which needs a processor that offers it; Payrail's do not, so no intent is eligible.
 */
export async function incrementAuthorization(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Outcome> {
  const intent = await getIntent(deps.reader, merchant_id, id);
  if (intent.status !== 'requires_capture') throw Intent.unexpectedState(intent, 'increment the authorization of');
  throw new PayrailError('payment_intent_unexpected_state', {
    message: 'This PaymentIntent was not authorized for incremental authorization: Payrail’s processors do not offer it.',
  });
}

export async function cancelIntent(
  deps: PaymentsDeps,
  ctx: OperationContext,
  id: string,
  params: { cancellation_reason?: CancellationReason | undefined },
): Promise<Outcome> {
  const before = await getIntent(ctx.reader, ctx.merchant_id, id);
  const reason = params.cancellation_reason ?? null;
  Intent.cancel(before, reason, ctx.now_s);
  // A payment held for review (processing or requires_capture) holds an authorization too.
  const holds_authorization = (before.status === 'requires_capture' || before.held_for_review === true) && before.latest_charge !== null;
  const current = holds_authorization ? await claimIntent(ctx, before) : before;
  if (holds_authorization && before.latest_charge) await voidAuthorization(deps, before, before.latest_charge);
  const intent = Intent.cancel(current, reason, ctx.now_s);
  const review = await closeReviewOnCancel(ctx, before, reason);
  const rendered = renderIntent(intent);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [updateIntent(intent, current.version), ...review.writes, eventsWrite(ctx, [{ type: 'payment_intent.canceled', object: rendered }, ...review.events])],
    outcome,
  );
  return outcome;
}

/**
 * Releases the authorization at the processor. One the processor already captured (a capture whose
 * answer was lost) cannot be voided: that is the merchant's to refund, said as Stripe would say it.
 */
async function voidAuthorization(deps: PaymentsDeps, intent: PaymentIntent, charge_id: string): Promise<void> {
  const status = await deps.connector.attemptStatus(charge_id);
  if (status.found === true && status.amount_captured > 0) {
    throw new PayrailError('payment_intent_unexpected_state', {
      message: 'This PaymentIntent was captured at the processor; capture it again to record the capture, then refund it.',
      extra: { payment_intent: renderIntent(intent) },
    });
  }
  await deps.connector.void(charge_id);
}

export type UpdateIntentParams = Omit<IntentChanges, 'shipping' | 'payment_method_options' | 'payment_method_types'> &
  IntentOptionParams &
  DestinationParams & { shipping?: ShippingParams | null | undefined };

export async function updateIntentParams(deps: PaymentsDeps, ctx: OperationContext, id: string, params: UpdateIntentParams): Promise<Outcome> {
  const before = await getIntent(ctx.reader, ctx.merchant_id, id);
  if (params.customer) await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer');
  const chosen = await choosePaymentMethod(deps, ctx, params);
  const { shipping, payment_method_options, payment_method_types } = definedChanges(before, params);
  const changes: IntentChanges = { ...params, payment_method: chosen.id ?? params.payment_method, shipping, payment_method_options, payment_method_types };
  const updated = { ...Intent.update(before, changes), ...(payment_method_types ? { automatic_payment_methods: null } : {}) };
  checkMinimum(updated.amount, updated.currency);
  const intent = { ...updated, ...termsForUpdate(before, updated.amount, params) };
  const outcome: Outcome = { ok: renderIntent(intent) };
  // No event: Stripe has no payment_intent.updated, and Payrail emits only Stripe's event types.
  await ctx.commit([...chosen.writes, updateIntent(intent, before.version)], outcome);
  return outcome;
}

export async function retrieveIntent(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderIntent(await getIntent(deps.reader, merchant_id, id));
}

export async function listIntents(deps: PaymentsDeps, merchant_id: string, page: PageRequest, customer?: string): Promise<Page<Record<string, unknown>>> {
  // The intents behind legacy Charges API charges are internal: Stripe shows no PaymentIntent for those.
  const filters = [sql`(state->>'charges_api') IS NULL`, ...(customer ? [sql`customer_id = ${customer}`] : [])];
  const result = await listPage<PaymentIntent>(deps.reader, { table: 'payments.payment_intents', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map((intent) => renderIntent(Intent.checkIntent(intent))), has_more: result.has_more };
}

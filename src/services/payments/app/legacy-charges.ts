import { randomBytesPooled } from '../../../kernel/random.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import { currencyInfo, minimumChargeMessage } from '../../../kernel/money.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { PaymentIntent } from '../domain/intent.js';
import * as Intent from '../domain/intent.js';
import { captureCharge } from '../domain/charge.js';
import { renderCharge, renderIntent } from '../adapters/render.js';
import { findIntent, getCharge, getCustomer, getIntent, updateCharge, updateIntent } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { runAttempt } from './attempt.js';
import { resumeAttempt } from './open-attempts.js';
import { eventsWrite, withChargeFacts } from './events.js';
import { withConversion } from './conversion.js';
import type { CardSource } from './tokens.js';
import { resolveCardSource } from './tokens.js';

/**
 * The legacy Charges API (`POST /v1/charges` with a `source`). Such a charge is a real payment on the
 * one payment path: an internal PaymentIntent (never shown: responses and events are the charge's)
 * runs the durable attempt of attempt.ts, so a retry never charges twice, the sweeper settles a lost
 * answer, and the ledger posts it from its charge events. The customer is not there to take a 3-D
 * Secure step, so the attempt is made off session: a card that asks for one declines with
 * `authentication_required`, as Stripe's Charges API does.
 */
export interface LegacyChargeParams {
  amount: number;
  currency: string;
  source?: string | undefined;
  customer?: string | undefined;
  capture?: boolean | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  receipt_email?: string | null | undefined;
  statement_descriptor?: string | null | undefined;
  statement_descriptor_suffix?: string | null | undefined;
}

export async function createLegacyCharge(deps: PaymentsDeps, ctx: OperationContext, params: LegacyChargeParams): Promise<Outcome> {
  const minimum = currencyInfo(params.currency)?.min_charge_amount ?? 0;
  if (params.amount < minimum) {
    throw new PayrailError('amount_too_small', { param: 'amount', message: minimumChargeMessage(params.currency) });
  }
  // A retry of a request that died resumes its attempt: its token is already spent, by that attempt.
  const left = ctx.resumed ? await findIntent(ctx.reader, ctx.merchant_id, ctx.reserved('payment_intent') ?? '') : undefined;
  if (left) return resumeAttempt(deps, ctx, left);
  const source = await chargeSource(deps, ctx, params);
  const source_card = source.token?.card_id ?? (source.payment_method.startsWith('pm_card_') ? ctx.ids.next('card') : null);
  const intent = legacyIntent(ctx, params, source.payment_method, source_card);
  return runAttempt(deps, ctx, { stored: null, ready: Intent.beginConfirm(intent, null), events: [], writes: source.spend });
}

/** The card to charge: the `source`, or else the customer's default payment method. */
async function chargeSource(deps: PaymentsDeps, ctx: OperationContext, params: LegacyChargeParams): Promise<CardSource> {
  const customer = params.customer ? await getCustomer(ctx.reader, ctx.merchant_id, params.customer, 'customer') : null;
  if (params.source) return resolveCardSource(deps, ctx, params.source, 'source', customer?.id ?? null);
  const default_method = customer?.invoice_settings?.default_payment_method;
  if (!customer) throw new PayrailError('parameter_missing', { param: 'source', message: 'Must provide source or customer.' });
  if (!default_method) {
    throw new PayrailError('parameter_missing', {
      param: 'source',
      message: `Customer ${customer.id} has no default payment method (invoice_settings.default_payment_method); pass a source.`,
    });
  }
  return { payment_method: default_method, token: null, spend: [] };
}

function legacyIntent(ctx: OperationContext, params: LegacyChargeParams, payment_method: string, source_card: string | null): PaymentIntent {
  const id = ctx.ids.next('payment_intent');
  return {
    id,
    merchant_id: ctx.merchant_id,
    amount: params.amount,
    currency: params.currency,
    status: 'requires_confirmation',
    capture_method: params.capture === false ? 'manual' : 'automatic',
    confirmation_method: 'automatic',
    customer: params.customer ?? null,
    payment_method,
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
    setup_future_usage: null,
    return_url: null,
    client_secret: `${id}_secret_${randomBytesPooled(12).toString('base64url')}`,
    off_session: true,
    charges_api: { source_card },
    pending_attempt: null,
    created: ctx.now_s,
    version: 1,
  };
}

/**
 * `POST /v1/charges/:id/capture`: captures an uncaptured charge (made here with `capture=false`, or
 * by a PaymentIntent with manual capture), the intent's version bumped durably before the processor
 * hears of it, as an intent's capture does. Answers with the charge.
 */
export async function captureLegacyCharge(deps: PaymentsDeps, ctx: OperationContext, id: string, params: { amount?: number | undefined }): Promise<Outcome> {
  const charge_before = await getCharge(ctx.reader, ctx.merchant_id, id);
  const before = await getIntent(ctx.reader, ctx.merchant_id, charge_before.payment_intent);
  if (before.latest_charge !== charge_before.id || before.status !== 'requires_capture') {
    throw new PayrailError('charge_not_captured', { message: `Charge ${id} cannot be captured: it is not an uncaptured authorization.` });
  }
  const amount = params.amount ?? before.amount_capturable;
  const minimum = currencyInfo(before.currency)?.min_charge_amount ?? 0;
  if (amount > before.amount_capturable || amount < minimum) {
    const code = amount < minimum ? 'amount_too_small' : 'amount_too_large';
    throw new PayrailError(code, { param: 'amount', message: `The amount to capture must be between ${minimum} and ${before.amount_capturable}.` });
  }
  // Converted at capture: a fresh rate, or no capture (nothing stored, the processor not called).
  const conversion = await deps.fx.conversionFor(ctx.reader, ctx.merchant_id, amount, before.currency, ctx.now_s);
  const claimed = Intent.claim(before);
  await ctx.record([updateIntent(claimed, before.version)]);
  // Repeated after a lost answer, the processor answers from its record and captures nothing more.
  const captured = await deps.connector.capture(charge_before.id, amount);
  if (captured.outcome === 'failed') throw new PayrailError('processing_error', { message: captured.message });
  const { intent } = Intent.capture(claimed, captured.amount_captured);
  const charge = withConversion(captureCharge(charge_before, captured.amount_captured), conversion);
  // Only an uncaptured charge is captured, and nothing uncaptured can have been refunded.
  const rendered = renderCharge(charge, { data: [], has_more: false });
  const outcome: Outcome = { ok: rendered };
  const intent_events = intent.charges_api ? [] : [{ type: 'payment_intent.succeeded', object: renderIntent(intent) }];
  await ctx.commit(
    [
      updateIntent(intent, claimed.version),
      updateCharge(charge, charge_before.version),
      eventsWrite(ctx, [
        withChargeFacts({ type: 'charge.captured', object: rendered, previous_attributes: { captured: false, amount_captured: 0 } }, charge),
        ...intent_events,
      ]),
    ],
    outcome,
  );
  return outcome;
}

import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { PaymentIntent } from '../domain/intent.js';
import type { Charge } from '../domain/charge.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Address, CardOptions, Shipping } from '../domain/details.js';
import { emptyAddress } from '../domain/details.js';
import type { BillingDetails } from '../../vault/index.js';
import type { PaymentsDeps } from './deps.js';

/**
 * The PaymentIntent parameters beyond amount and currency, turned into the intent's state: its card
 * options, shipping, the payment method (an existing one, or one created from `payment_method_data`)
 * and the confirm-time flags.
 */

type Optional<T> = { [K in keyof T]?: T[K] | null | undefined };

export type ShippingParams = { name: string; address: Optional<Address> } & Optional<Omit<Shipping, 'name' | 'address'>>;

export interface CardOptionParams {
  request_three_d_secure?: 'automatic' | undefined;
  capture_method?: '' | 'manual' | undefined;
  setup_future_usage?: '' | 'none' | 'off_session' | 'on_session' | undefined;
}

export interface PaymentMethodDataParams {
  type: 'card';
  card: { number: unknown; exp_month: unknown; exp_year: unknown; cvc?: unknown };
  billing_details?: { [K in keyof BillingDetails]?: BillingDetails[K] | undefined } | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/** Parameters create, update and confirm share. */
export interface IntentOptionParams {
  payment_method_types?: string[] | undefined;
  payment_method_options?: { card?: CardOptionParams | undefined } | undefined;
  payment_method_data?: PaymentMethodDataParams | undefined;
}

/** Parameters that only mean something when the request confirms. */
export interface ConfirmOnlyParams {
  error_on_requires_action?: boolean | undefined;
  off_session?: boolean | undefined;
  return_url?: string | undefined;
  use_stripe_sdk?: boolean | undefined;
}

export function refuseConfirmOnly(params: ConfirmOnlyParams): void {
  const param = (['error_on_requires_action', 'off_session'] as const).find((name) => params[name] !== undefined);
  if (param) throw new PayrailError('parameter_invalid', { param, message: `You passed ${param}, but it can only be used when confirm=true.` });
}

/** The flags the attempt reads: the customer may be away, so a 3-D Secure step must fail it instead. */
export function confirmFlags(params: ConfirmOnlyParams): Pick<PaymentIntent, 'error_on_requires_action' | 'off_session'> {
  return { error_on_requires_action: params.error_on_requires_action ?? false, off_session: params.off_session ?? false };
}

export function cardOptions(current: CardOptions, requested: { card?: CardOptionParams | undefined } | undefined): CardOptions {
  const card = requested?.card;
  if (!card) return current;
  return {
    request_three_d_secure: card.request_three_d_secure ?? current.request_three_d_secure,
    capture_method: card.capture_method === undefined ? current.capture_method : card.capture_method === '' ? null : card.capture_method,
    setup_future_usage: card.setup_future_usage === undefined ? current.setup_future_usage : card.setup_future_usage === '' ? null : card.setup_future_usage,
  };
}

export function shippingOf(params: ShippingParams): Shipping {
  return {
    address: { ...emptyAddress(), ...params.address },
    carrier: params.carrier ?? null,
    name: params.name,
    phone: params.phone ?? null,
    tracking_number: params.tracking_number ?? null,
  };
}

/** The intent fields a confirm or an update may change besides its own (shipping, method types and options). */
export function definedChanges(before: PaymentIntent, params: IntentOptionParams & { shipping?: ShippingParams | null | undefined }): Partial<PaymentIntent> {
  return {
    ...(params.shipping !== undefined ? { shipping: params.shipping === null ? null : shippingOf(params.shipping) } : {}),
    ...(params.payment_method_types ? { payment_method_types: params.payment_method_types, automatic_payment_methods: null } : {}),
    ...(params.payment_method_options ? { payment_method_options: { card: cardOptions(currentCardOptions(before), params.payment_method_options) } } : {}),
  };
}

export function currentCardOptions(intent: PaymentIntent): CardOptions {
  return intent.payment_method_options?.card ?? { request_three_d_secure: 'automatic', capture_method: null, setup_future_usage: null };
}

export interface ChosenPaymentMethod {
  id: string | null;
  /** The new PaymentMethod's vault write, when `payment_method_data` created one. */
  writes: SqlFragment[];
  /** A CVC sent with `payment_method_data`: checked by the processor with this attempt, never stored. */
  cvc: string | undefined;
}

/**
 * The payment method named by `payment_method`, or a card PaymentMethod created from
 * `payment_method_data` (its number goes straight to the vault). A retry of a request that died after
 * storing it finds it under the reserved id instead of storing another.
 */
export async function choosePaymentMethod(
  deps: PaymentsDeps,
  ctx: OperationContext,
  params: { payment_method?: string | null | undefined; payment_method_data?: PaymentMethodDataParams | undefined },
): Promise<ChosenPaymentMethod> {
  const data = params.payment_method_data;
  if (!data) {
    if (params.payment_method) await deps.vault.get(ctx.reader, ctx.merchant_id, params.payment_method, 'payment_method');
    return { id: params.payment_method ?? null, writes: [], cvc: undefined };
  }
  if (params.payment_method) {
    throw new PayrailError('parameters_exclusive', {
      param: 'payment_method_data',
      message: 'You may only specify one of these parameters: payment_method, payment_method_data.',
    });
  }
  const cvc = typeof data.card.cvc === 'string' ? data.card.cvc : undefined;
  const reserved = ctx.resumed ? ctx.reserved('payment_method') : null;
  const stored = reserved ? await deps.vault.get(ctx.reader, ctx.merchant_id, reserved).catch(() => undefined) : undefined;
  if (stored) return { id: stored.id, writes: [], cvc };
  const card = underPaymentMethodData(() => deps.vault.validate(data.card, ctx.now_ms));
  const billing = data.billing_details;
  const { method, write } = await deps.vault.tokenize(
    ctx.ids,
    ctx.merchant_id,
    {
      card,
      billing_details: { address: billing?.address ?? null, email: billing?.email ?? null, name: billing?.name ?? null, phone: billing?.phone ?? null },
      metadata: Object.fromEntries(Object.entries(data.metadata ?? {}).filter((e): e is [string, string] => e[1] !== null)),
    },
    ctx.now_s,
  );
  return { id: method.id, writes: [write], cvc };
}

export interface CaptureParams {
  amount_to_capture?: number | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  statement_descriptor?: string | null | undefined;
  statement_descriptor_suffix?: string | null | undefined;
}

export function withCaptureChanges(intent: PaymentIntent, params: CaptureParams): PaymentIntent {
  return {
    ...intent,
    metadata: params.metadata !== undefined ? mergeMetadata(intent.metadata, params.metadata) : intent.metadata,
    statement_descriptor: params.statement_descriptor !== undefined ? params.statement_descriptor : intent.statement_descriptor,
    statement_descriptor_suffix: params.statement_descriptor_suffix !== undefined ? params.statement_descriptor_suffix : intent.statement_descriptor_suffix,
  };
}

/** A capture may set the descriptor the customer's statement shows for the captured charge. */
export function capturedDescriptors(charge: Charge, params: CaptureParams): Partial<Charge> {
  return {
    ...(params.statement_descriptor !== undefined ? { statement_descriptor: params.statement_descriptor } : {}),
    ...(params.statement_descriptor_suffix !== undefined ? { statement_descriptor_suffix: params.statement_descriptor_suffix } : {}),
  };
}

/** The vault names `card[number]`; sent inside `payment_method_data`, the error names where it was sent. */
function underPaymentMethodData<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (!(error instanceof PayrailError) || error.param === undefined) throw error;
    const [head, ...rest] = error.param.split('[');
    const param = `payment_method_data[${head}]${rest.length > 0 ? `[${rest.join('[')}` : ''}`;
    throw new PayrailError(error.code, { param, message: error.message, decline_code: error.decline_code, extra: error.extra });
  }
}

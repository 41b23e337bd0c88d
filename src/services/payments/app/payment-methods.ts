import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { BillingDetails } from '../../vault/index.js';
import { renderPaymentMethod } from '../adapters/render.js';
import { getCustomer } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite } from './events.js';
import { createPaymentMethodFromToken } from './tokens.js';

/** PaymentMethod use cases: card data enters only here, and goes straight to the vault. */
export interface CreatePaymentMethodParams {
  /** The card itself, or `card[token]`: a token's card (tokens.ts). */
  card: { number: unknown; exp_month: unknown; exp_year: unknown; cvc?: unknown } | { token: string };
  billing_details?: { [K in keyof BillingDetails]?: BillingDetails[K] | undefined } | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export async function createPaymentMethod(deps: PaymentsDeps, ctx: OperationContext, params: CreatePaymentMethodParams): Promise<Outcome> {
  const billing = params.billing_details;
  const billing_details = { address: billing?.address ?? null, email: billing?.email ?? null, name: billing?.name ?? null, phone: billing?.phone ?? null };
  const metadata = Object.fromEntries(Object.entries(params.metadata ?? {}).filter((e): e is [string, string] => e[1] !== null));
  if ('token' in params.card) {
    const extras = { billing_details: billing ? billing_details : undefined, metadata: params.metadata !== undefined ? metadata : undefined };
    return createPaymentMethodFromToken(deps, ctx, params.card.token, extras);
  }
  const card = deps.vault.validate(params.card, ctx.now_ms);
  const { method, write } = await deps.vault.tokenize(ctx.ids, ctx.merchant_id, { card, billing_details, metadata }, ctx.now_s);
  const outcome: Outcome = { ok: renderPaymentMethod(method) };
  // No event: Stripe emits none when a PaymentMethod is created, only when it is attached.
  await ctx.commit([write], outcome);
  return outcome;
}

/** The vault's writes, the event and the response commit together: an interrupted attach leaves nothing. */
export async function attachPaymentMethod(deps: PaymentsDeps, ctx: OperationContext, id: string, customer: string): Promise<Outcome> {
  await getCustomer(ctx.reader, ctx.merchant_id, customer, 'customer').catch((error: unknown) => {
    throw error instanceof PayrailError ? new PayrailError('resource_missing', { param: 'customer', message: error.message }) : error;
  });
  const { method, writes } = await deps.vault.attach(ctx.reader, ctx.ids, ctx.merchant_id, id, customer, ctx.now_s);
  const outcome: Outcome = { ok: renderPaymentMethod(method) };
  await ctx.commit([...writes, eventsWrite(ctx, [{ type: 'payment_method.attached', object: renderPaymentMethod(method) }])], outcome);
  return outcome;
}

export async function detachPaymentMethod(deps: PaymentsDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const { method, writes } = await deps.vault.detach(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: renderPaymentMethod(method) };
  await ctx.commit([...writes, eventsWrite(ctx, [{ type: 'payment_method.detached', object: renderPaymentMethod(method) }])], outcome);
  return outcome;
}

export async function retrievePaymentMethod(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderPaymentMethod(await deps.vault.get(deps.reader, merchant_id, id));
}

/** A customer's saved cards, newest first, with Stripe's cursors. */
export async function listPaymentMethods(
  deps: PaymentsDeps,
  merchant_id: string,
  customer: string,
  page: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined },
  param?: string,
) {
  await getCustomer(deps.reader, merchant_id, customer, param).catch((error: unknown) => {
    throw error instanceof PayrailError && param ? new PayrailError('resource_missing', { param, message: error.message }) : error;
  });
  const result = await deps.vault.listForCustomer(deps.reader, merchant_id, customer, page.limit ?? 10, page.starting_after, page.ending_before);
  return { data: result.data.map(renderPaymentMethod), has_more: result.has_more };
}

export interface UpdatePaymentMethodParams {
  billing_details?: { [K in keyof BillingDetails]?: BillingDetails[K] | undefined } | undefined;
  card?: { exp_month?: number | undefined; exp_year?: number | undefined } | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/** A renewed card keeps its number and gets a new expiry; the billing details and metadata merge as Stripe's do. */
export async function updatePaymentMethod(deps: PaymentsDeps, ctx: OperationContext, id: string, params: UpdatePaymentMethodParams): Promise<Outcome> {
  const { method, writes } = await deps.vault.update(ctx.reader, ctx.merchant_id, id, (before) => {
    const card = { ...before.card, ...definedOnly(params.card ?? {}) };
    checkExpiry(card.exp_month, card.exp_year, new Date(ctx.now_ms));
    const billing = params.billing_details ?? {};
    return {
      ...before,
      card,
      billing_details: { ...before.billing_details, ...definedOnly(billing) },
      metadata: params.metadata !== undefined ? mergeMetadata(before.metadata, params.metadata) : before.metadata,
    };
  });
  const outcome: Outcome = { ok: renderPaymentMethod(method) };
  await ctx.commit([...writes, eventsWrite(ctx, [{ type: 'payment_method.updated', object: renderPaymentMethod(method) }])], outcome);
  return outcome;
}

function checkExpiry(exp_month: number, exp_year: number, now: Date): void {
  if (exp_month < 1 || exp_month > 12) throw new PayrailError('invalid_expiry_month', { param: 'card[exp_month]' });
  const year = now.getUTCFullYear();
  if (exp_year < year || exp_year > year + 50) throw new PayrailError('invalid_expiry_year', { param: 'card[exp_year]' });
  if (exp_year === year && exp_month < now.getUTCMonth() + 1) throw new PayrailError('invalid_expiry_month', { param: 'card[exp_month]' });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `customers.retrievePaymentMethod`: one of the customer's own PaymentMethods; any other id is not found. */
export async function retrieveCustomerPaymentMethod(deps: PaymentsDeps, merchant_id: string, customer: string, id: string): Promise<Record<string, unknown>> {
  await getCustomer(deps.reader, merchant_id, customer);
  const method = await deps.vault.get(deps.reader, merchant_id, id);
  if (method.customer !== customer) throw new PayrailError('resource_missing', { message: `No such PaymentMethod: '${id.slice(0, 64)}'` });
  return renderPaymentMethod(method);
}

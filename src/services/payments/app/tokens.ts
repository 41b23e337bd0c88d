import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { BillingDetails } from '../../vault/index.js';
import type { CardToken } from '../domain/token.js';
import { TEST_TOKENS } from '../domain/token.js';
import { renderToken } from '../adapters/token-render.js';
import { renderPaymentMethod } from '../adapters/render.js';
import { findToken, findTokenByCard, insertToken, spendToken } from '../adapters/token-store.js';
import type { PaymentsDeps } from './deps.js';

/** Card tokens: card data goes straight to the vault; the token is a single-use handle on it. */
export interface CreateTokenParams {
  card?: {
    number: unknown;
    exp_month: unknown;
    exp_year: unknown;
    cvc?: unknown;
    name?: string | undefined;
    address_line1?: string | undefined;
    address_line2?: string | undefined;
    address_city?: string | undefined;
    address_state?: string | undefined;
    address_zip?: string | undefined;
    address_country?: string | undefined;
  };
}

/** Stripe emits no event for a token: only the vault's card and the token are written. */
export async function createToken(deps: PaymentsDeps, ctx: OperationContext, params: CreateTokenParams, client_ip: string | null): Promise<Outcome> {
  if (!params.card) throw new PayrailError('parameter_missing', { param: 'card', message: 'Missing required param: card.' });
  const { number, exp_month, exp_year, cvc } = params.card;
  const card = deps.vault.validate({ number, exp_month, exp_year, cvc }, ctx.now_ms);
  const billing_details = billingOf(params.card);
  const { method, write } = await deps.vault.tokenize(ctx.ids, ctx.merchant_id, { card, billing_details }, ctx.now_s);
  const token: CardToken = {
    id: ctx.ids.next('token'),
    merchant_id: ctx.merchant_id,
    card_id: ctx.ids.next('card'),
    payment_method: method.id,
    card: method.card,
    billing_details,
    used: false,
    client_ip,
    created: ctx.now_s,
  };
  const outcome: Outcome = { ok: renderToken(token) };
  await ctx.commit([write, insertToken(token)], outcome);
  return outcome;
}

function billingOf(card: NonNullable<CreateTokenParams['card']>): BillingDetails {
  const address = {
    line1: card.address_line1 ?? null,
    line2: card.address_line2 ?? null,
    city: card.address_city ?? null,
    state: card.address_state ?? null,
    postal_code: card.address_zip ?? null,
    country: card.address_country ?? null,
  };
  const has_address = Object.values(address).some((value) => value !== null);
  return { name: card.name ?? null, email: null, phone: null, address: has_address ? address : null };
}

export async function retrieveToken(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const token = await findToken(deps.reader, merchant_id, id);
  if (!token) throw new PayrailError('resource_missing', { param: 'token', message: `No such token: '${id.slice(0, 64)}'` });
  return renderToken(token);
}

/** What a card `source` names: the PaymentMethod to pay with, and the write that spends its token. */
export interface CardSource {
  payment_method: string;
  /** The token it spends (null for Stripe's reusable test tokens and for PaymentMethods). */
  token: CardToken | null;
  /** Committed before the processor hears of the payment, so a token pays once. */
  spend: SqlFragment[];
}

/**
 * Resolves a `source` (or `card[token]`): a Stripe test token, a token, a token's card id, or a
 * PaymentMethod id. A token is single use: a used one is refused, as Stripe refuses it. A card id
 * whose token is spent may still pay for the customer its card was saved to.
 */
export async function resolveCardSource(
  deps: PaymentsDeps,
  ctx: OperationContext,
  source: string,
  param: string,
  customer: string | null,
): Promise<CardSource> {
  const test_method = TEST_TOKENS.get(source);
  if (test_method) return { payment_method: test_method, token: null, spend: [] };
  if (source.startsWith('tok_')) {
    const token = await findToken(ctx.reader, ctx.merchant_id, source);
    if (!token) throw new PayrailError('resource_missing', { param, message: `No such token: '${source.slice(0, 64)}'` });
    if (token.used) throw new PayrailError('token_already_used', { param, message: `You cannot use a Stripe token more than once: ${token.id}.` });
    return { payment_method: token.payment_method, token, spend: [spendToken(token)] };
  }
  if (source.startsWith('card_')) return cardIdSource(deps, ctx, source, param, customer);
  if (source.startsWith('pm_')) {
    const method = await deps.vault.get(ctx.reader, ctx.merchant_id, source, param);
    return { payment_method: method.id, token: null, spend: [] };
  }
  throw new PayrailError('resource_missing', { param, message: `No such source: '${source.slice(0, 64)}'` });
}

async function cardIdSource(deps: PaymentsDeps, ctx: OperationContext, card_id: string, param: string, customer: string | null): Promise<CardSource> {
  const token = await findTokenByCard(ctx.reader, ctx.merchant_id, card_id);
  if (token && !token.used) return { payment_method: token.payment_method, token, spend: [spendToken(token)] };
  const saved = token ? await deps.vault.get(ctx.reader, ctx.merchant_id, token.payment_method) : undefined;
  if (!token || !saved || saved.customer === null || saved.customer !== customer) {
    throw new PayrailError('resource_missing', { param, message: `No such source: '${card_id.slice(0, 64)}'` });
  }
  return { payment_method: saved.id, token: null, spend: [] };
}

/** What `POST /v1/payment_methods` may set beside `card[token]`. */
export interface TokenMethodExtras {
  billing_details?: BillingDetails | undefined;
  metadata?: Record<string, string> | undefined;
}

/**
 * `POST /v1/payment_methods` with `card[token]`: the token's card becomes a PaymentMethod (the
 * token is spent in the same statement); a Stripe test token's card is stored as a new one.
 */
export async function createPaymentMethodFromToken(deps: PaymentsDeps, ctx: OperationContext, token_id: string, extras: TokenMethodExtras): Promise<Outcome> {
  const param = 'card[token]';
  const test_method = TEST_TOKENS.get(token_id);
  if (test_method) {
    const { method, write } = await deps.vault.storeTestCard(ctx.ids, ctx.merchant_id, test_method, definedOnly(extras), ctx.now_s);
    const outcome: Outcome = { ok: renderPaymentMethod(method) };
    await ctx.commit([write], outcome);
    return outcome;
  }
  const source = await resolveCardSource(deps, ctx, token_id, param, null);
  if (!source.token) throw new PayrailError('resource_missing', { param, message: `No such token: '${token_id.slice(0, 64)}'` });
  const changed =
    extras.billing_details || extras.metadata
      ? await deps.vault.update(ctx.reader, ctx.merchant_id, source.payment_method, (method) => ({
          ...method,
          billing_details: extras.billing_details ?? method.billing_details,
          metadata: extras.metadata ?? method.metadata,
        }))
      : { method: await deps.vault.get(ctx.reader, ctx.merchant_id, source.payment_method), writes: [] };
  const outcome: Outcome = { ok: renderPaymentMethod(changed.method) };
  await ctx.commit([...source.spend, ...changed.writes], outcome);
  return outcome;
}

function definedOnly(extras: TokenMethodExtras): { billing_details?: BillingDetails; metadata?: Record<string, string> } {
  return {
    ...(extras.billing_details ? { billing_details: extras.billing_details } : {}),
    ...(extras.metadata ? { metadata: extras.metadata } : {}),
  };
}

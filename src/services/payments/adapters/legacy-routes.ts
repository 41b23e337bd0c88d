import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import { expandable } from '../../../platform/http/expandable.js';
import type { RouteKit } from '../../../platform/http/routes.js';
import { pathId as id } from '../../../platform/http/routes.js';
import * as Tokens from '../app/tokens.js';
import * as Legacy from '../app/legacy-charges.js';
import type { PaymentsDeps } from '../app/deps.js';
import * as S from './param-shapes.js';

/**
 * Tokens and the legacy Charges API: their parameters as Stripe documents them (strict: an unknown one
 * is a 400 naming it; the ones Payrail does not support are refused with the reason) and their routes.
 */

const tokenCard = z.strictObject({
  number: z.unknown(),
  exp_month: z.unknown(),
  exp_year: z.unknown(),
  cvc: z.unknown().optional(),
  name: P.text(256).optional(),
  address_line1: P.text(200).optional(),
  address_line2: P.text(200).optional(),
  address_city: P.text(200).optional(),
  address_state: P.text(200).optional(),
  address_zip: P.text(200).optional(),
  address_country: P.text(200).optional(),
  currency: S.connectRefusal('card[currency]').optional(),
});

const ONLY_CARD_TOKENS = 'Payrail makes card tokens only.';
/** A token's card is embedded and its references are always null: any `expand[]` path is a 400, as an unknown path is on Stripe. */
const tokenExpand = () => expandable(() => false).optional();

export const createTokenSchema = z.strictObject({
  // Optional here so an unsupported kind of token is named as such; a card token without it is refused in the use case.
  card: tokenCard.optional(),
  bank_account: S.unsupported('bank_account', ONLY_CARD_TOKENS).optional(),
  pii: S.unsupported('pii', ONLY_CARD_TOKENS).optional(),
  cvc_update: S.unsupported('cvc_update', ONLY_CARD_TOKENS).optional(),
  account: S.connectRefusal('account').optional(),
  person: S.connectRefusal('person').optional(),
  customer: S.connectRefusal('customer').optional(),
  expand: tokenExpand(),
});

export const createChargeSchema = z.strictObject({
  amount: P.amount(),
  currency: P.currency(),
  source: P.nonEmptyText(255).optional(),
  customer: P.nonEmptyText(255).optional(),
  capture: P.boolean().optional(),
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  receipt_email: P.clearableText(800).optional(),
  statement_descriptor: S.statementDescriptor(22).optional(),
  statement_descriptor_suffix: S.statementDescriptor(22).optional(),
  card: S.unsupported('card', 'Pass the card as a token or PaymentMethod in source.').optional(),
  shipping: S.unsupported('shipping', 'Legacy charges take no shipping; use a PaymentIntent.').optional(),
  radar_options: S.unsupported('radar_options', 'Radar sessions are not supported.').optional(),
  application_fee: S.connectRefusal('application_fee').optional(),
  application_fee_amount: S.connectRefusal('application_fee_amount').optional(),
  destination: S.connectRefusal('destination').optional(),
  on_behalf_of: S.connectRefusal('on_behalf_of').optional(),
  transfer_data: S.connectRefusal('transfer_data').optional(),
  transfer_group: S.connectRefusal('transfer_group').optional(),
  expand: S.expandFor('charge').optional(),
});

export const captureChargeSchema = z.strictObject({
  amount: P.amount().optional(),
  expand: S.expandFor('charge').optional(),
  receipt_email: S.unsupported('receipt_email', 'Set it when the charge is made.').optional(),
  statement_descriptor: S.unsupported('statement_descriptor', 'Set it when the charge is made.').optional(),
  statement_descriptor_suffix: S.unsupported('statement_descriptor_suffix', 'Set it when the charge is made.').optional(),
  application_fee: S.connectRefusal('application_fee').optional(),
  application_fee_amount: S.connectRefusal('application_fee_amount').optional(),
  transfer_data: S.connectRefusal('transfer_data').optional(),
  transfer_group: S.connectRefusal('transfer_group').optional(),
});

const tokenReference = z.strictObject({ token: P.nonEmptyText(255) });

/** `card` of `POST /v1/payment_methods`: the card's fields, or `card[token]` alone (a token's card). */
export const cardOrToken = () =>
  z.unknown().transform((value, ctx) => {
    const by_token = typeof value === 'object' && value !== null && 'token' in value;
    const parsed = (by_token ? tokenReference : S.cardInput()).safeParse(value);
    if (parsed.success) return parsed.data;
    // The nested problems keep their paths, so the error still names `card[…]`.
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });

const retrieveTokenSchema = z.strictObject({ expand: tokenExpand() });

/** A legacy charge reserves what its attempt creates, as a PaymentIntent's create-and-confirm does. */
const CHARGE_RESERVES = ['payment_intent', 'charge'] as const;

/** Card data enters here too, and goes straight to the vault. */
export function registerTokenAndLegacyChargeRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  post('/v1/tokens', createTokenSchema, ['token', 'card', 'payment_method'], (ctx, p, r) => Tokens.createToken(payments, ctx, p, r.ip));
  get('/v1/tokens/:id', retrieveTokenSchema, (m, _q, r) => Tokens.retrieveToken(payments, m, id(r)));
  post('/v1/charges', createChargeSchema, CHARGE_RESERVES, (ctx, p) => Legacy.createLegacyCharge(payments, ctx, p));
  post('/v1/charges/:id/capture', captureChargeSchema, [], (ctx, p, r) => Legacy.captureLegacyCharge(payments, ctx, id(r), p));
}

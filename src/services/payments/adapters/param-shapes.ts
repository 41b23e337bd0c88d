import { z } from 'zod';
import type { ErrorCode } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { PAYMENT_METHOD_TYPES } from '../domain/details.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import type { ObjectType } from './expand-graph.js';
import { canExpand } from './expand-graph.js';

/**
 * Parameter shapes several payments routes share (addresses, shipping, statement descriptors, card
 * options), and the refusal of parameters Stripe has and Payrail does not support yet: a clear 400
 * naming the parameter, never a silent no-op.
 */

function refuse(ctx: z.RefinementCtx, code: ErrorCode, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code: code } });
  return z.NEVER;
}

/** A Stripe parameter Payrail does not support: `parameter_unknown` with the reason. */
export const unsupported = (param: string, reason: string) =>
  z.unknown().transform((_value, ctx) => refuse(ctx, 'parameter_unknown', `Received unknown parameter: ${param}. ${reason}`));

/** `""` clears an object-valued field on update, as Stripe's `shipping=""` does. */
export const clearable = <S extends z.ZodType>(schema: S) => z.preprocess((value) => (value === '' ? null : value), schema.nullable());

export const address = () =>
  z.strictObject({
    city: P.clearableText(200).optional(),
    country: P.clearableText(200).optional(),
    line1: P.clearableText(200).optional(),
    line2: P.clearableText(200).optional(),
    postal_code: P.clearableText(200).optional(),
    state: P.clearableText(200).optional(),
  });

export const shipping = () =>
  z.strictObject({
    address: address(),
    name: P.nonEmptyText(5000),
    carrier: P.clearableText(5000).optional(),
    phone: P.clearableText(5000).optional(),
    tracking_number: P.clearableText(5000).optional(),
  });

export const billingDetails = () =>
  z.strictObject({
    email: P.clearableText(512).optional(),
    name: P.clearableText(256).optional(),
    phone: P.clearableText(20).optional(),
    address: clearable(address()).optional(),
  });

/** Card networks refuse these in a descriptor; Stripe also wants at least one letter. */
const DESCRIPTOR_FORBIDDEN = /[<>\\'"*]/;

export const statementDescriptor = (max_length = 22) =>
  P.clearableText(max_length).transform((value, ctx) => {
    if (value === null) return null;
    if (DESCRIPTOR_FORBIDDEN.test(value)) return refuse(ctx, 'parameter_invalid', 'The statement descriptor cannot contain any of <, >, \\, \', " or *.');
    if (!/\p{L}/u.test(value)) return refuse(ctx, 'parameter_invalid', 'The statement descriptor must contain at least one letter.');
    return value;
  });

/** `payment_method_types`: Stripe's names, of which Payrail processes `card`. */
export const paymentMethodTypes = () =>
  P.textList(100, 20).transform((types, ctx) => {
    const other = types.find((type) => !(PAYMENT_METHOD_TYPES as readonly string[]).includes(type));
    if (other === undefined) return types;
    return refuse(
      ctx,
      'parameter_invalid',
      `The payment method type "${other.slice(0, 40)}" is invalid. Payrail processes these types: ${PAYMENT_METHOD_TYPES.join(', ')}.`,
    );
  });

export const automaticPaymentMethods = () => z.strictObject({ enabled: P.boolean(), allow_redirects: P.oneOf(['always', 'never'] as const).optional() });

const ONLY_CARDS = 'Payrail processes cards only.';

export const cardOptions = () =>
  z.strictObject({
    request_three_d_secure: P.oneOf(['automatic', 'any', 'challenge'] as const)
      .transform((value, ctx) =>
        value === 'automatic'
          ? value
          : refuse(ctx, 'parameter_invalid', 'Payrail’s processors decide when 3-D Secure is needed; only `automatic` is supported.'),
      )
      .optional(),
    capture_method: P.oneOf(['', 'manual'] as const).optional(),
    setup_future_usage: P.oneOf(['', 'none', 'off_session', 'on_session'] as const).optional(),
    installments: unsupported('payment_method_options[card][installments]', 'Installments are not supported.').optional(),
    mandate_options: unsupported('payment_method_options[card][mandate_options]', 'Card mandates are not supported.').optional(),
    network: unsupported('payment_method_options[card][network]', 'Payrail routes each card on its own network.').optional(),
    cvc_token: unsupported('payment_method_options[card][cvc_token]', 'CVC tokens are not supported.').optional(),
    statement_descriptor_suffix_kana: unsupported(
      'payment_method_options[card][statement_descriptor_suffix_kana]',
      'Kana descriptors are not supported.',
    ).optional(),
    statement_descriptor_suffix_kanji: unsupported(
      'payment_method_options[card][statement_descriptor_suffix_kanji]',
      'Kanji descriptors are not supported.',
    ).optional(),
  });

/** `payment_method_options`: the card's; any other type's options are refused, as the type is. */
export const paymentMethodOptions = () =>
  z.looseObject({ card: cardOptions().optional() }).transform((options, ctx) => {
    const other = Object.keys(options).find((key) => key !== 'card');
    if (other === undefined) return { card: options.card };
    return refuse(ctx, 'parameter_unknown', `Received unknown parameter: payment_method_options[${other.slice(0, 40)}]. ${ONLY_CARDS}`);
  });

export const cardInput = () =>
  z.strictObject({
    number: z.unknown(),
    exp_month: z.unknown(),
    exp_year: z.unknown(),
    cvc: z.unknown().optional(),
  });

/** `payment_method_data`: a card PaymentMethod created with the intent, its number going straight to the vault. */
export const paymentMethodData = () =>
  z.strictObject({
    type: P.oneOf(['card'] as const),
    card: cardInput(),
    billing_details: billingDetails().optional(),
    metadata: P.metadata().optional(),
  });

/** `off_session`: a boolean, or Stripe's `one_off` / `recurring` (both mean the customer is away). */
export const offSession = () =>
  z.unknown().transform((value, ctx) => {
    if (value === 'one_off' || value === 'recurring') return true;
    const parsed = P.boolean().safeParse(value);
    return parsed.success ? parsed.data : refuse(ctx, 'parameter_invalid', 'Invalid off_session: use true, false, one_off or recurring.');
  });

export const mandateRefusal = (param: string) => unsupported(param, 'Payrail has no payment method that needs a mandate.');
export const connectRefusal = (param: string) => unsupported(param, 'Connected accounts are not supported yet.');

/** `expand[]` for a route answering one object of `type`: Stripe's expandable paths, anything else a 400. */
export const expandFor = (type: ObjectType) => expandable((segments) => canExpand(type, segments));
export const expandListOf = (type: ObjectType) => expandableList((segments) => canExpand(type, segments));

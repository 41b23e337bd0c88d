import { z } from 'zod';
import type { ErrorCode } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';

/**
 * The parameters of /v1/products and /v1/prices as Stripe documents them (API version 2023-08-16).
 * Strict objects: an unknown parameter is a 400 naming it; Stripe's parameters Payrail does not
 * support are refused by name with the reason, never ignored. Immutable fields of a price are not in
 * its update schema, so changing one is refused as Stripe refuses it (`parameter_unknown`).
 */

function refuse(ctx: z.RefinementCtx, code: ErrorCode, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code: code } });
  return z.NEVER;
}

const unsupported = (param: string, reason: string) =>
  z.unknown().transform((_value, ctx) => refuse(ctx, 'parameter_unknown', `Received unknown parameter: ${param}. ${reason}`));

const NO_TAX = 'Payrail computes no tax (Stripe Tax is not supported).';
const OWN_IDS = 'Payrail chooses the ids of products.';
const NO_CURRENCY_OPTIONS = 'A price has one currency in Payrail: create one price per currency.';
const NO_CUSTOM_AMOUNTS = 'Customer-chosen amounts are not supported.';

/** `x[0][…]=…` arrives as an object keyed by index; a JSON body sends an array. */
const indexedList = <S extends z.ZodType>(item: S, max: number) =>
  z.preprocess(
    (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.values(value) : value),
    z.array(item).max(max, { message: `At most ${max} entries are allowed.` }),
  );

const clearable = <S extends z.ZodType>(schema: S) => z.preprocess((value) => (value === '' ? null : value), schema.nullable());

/**
 * Stripe's `unit_amount_decimal`: a decimal string of minor units with at most 12 decimal places.
 * Payrail keeps money in whole minor units, so a fraction of one is refused, never rounded.
 */
export const wholeDecimal = () =>
  P.text(40).transform((value, ctx) => {
    const match = /^(\d{1,12})(?:\.(\d{1,12}))?$/.exec(value);
    if (!match) return refuse(ctx, 'parameter_invalid', 'Invalid decimal: use at most 12 digits, a point, and at most 12 decimal places.');
    if (/[1-9]/.test(match[2] ?? '')) {
      return refuse(ctx, 'parameter_invalid', 'Payrail bills whole minor units: a fraction of one (such as 0.5 cents) is not supported.');
    }
    const amount = Number(match[1]);
    return amount > 99_999_999 ? refuse(ctx, 'amount_too_large', 'Amount must be no more than 99999999.') : amount;
  });

/** A statement descriptor: up to 22 characters, at least one letter, none of < > \ " '. */
const statementDescriptor = () =>
  P.nonEmptyText(22).refine((value) => /[a-zA-Z]/.test(value) && !/[<>\\"']/.test(value), {
    message: 'The statement descriptor must contain at least one letter and none of < > \\ " \'.',
  });

/** A package's size in inches and weight in ounces: a non-negative number, not money. */
const dimension = () =>
  z.unknown().transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,9}(\.\d{1,6})?$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1e9) return refuse(ctx, 'parameter_invalid', 'Invalid number: must be a non-negative decimal.');
    return parsed;
  });

const packageDimensions = () => z.strictObject({ height: dimension(), length: dimension(), weight: dimension(), width: dimension() });
const features = () => indexedList(z.strictObject({ name: P.nonEmptyText(80) }), 15);
const images = () => indexedList(P.nonEmptyText(2048), 8);

const canExpandProduct = (segments: readonly string[]) => segments.length === 1 && segments[0] === 'default_price';
const canExpandPrice = (segments: readonly string[]) => segments.length === 1 && (segments[0] === 'product' || segments[0] === 'tiers');
export const productExpand = () => expandable(canExpandProduct);
export const priceExpand = () => expandable(canExpandPrice);

const recurring = () =>
  z.strictObject({
    interval: P.oneOf(['day', 'week', 'month', 'year'] as const),
    interval_count: P.integer({ min: 1 }).optional(),
    usage_type: P.oneOf(['licensed', 'metered'] as const).optional(),
    aggregate_usage: unsupported('recurring[aggregate_usage]', 'It applies to metered prices, which Payrail does not support.').optional(),
  });

const tier = () =>
  z.strictObject({
    up_to: z.union([z.literal('inf'), P.integer({ min: 1 })]),
    unit_amount: P.amount().optional(),
    unit_amount_decimal: wholeDecimal().optional(),
    flat_amount: P.amount().optional(),
    flat_amount_decimal: wholeDecimal().optional(),
  });

/** The price fields `POST /v1/prices` and a product's `default_price_data` share. */
const priceFields = {
  currency: P.currency(),
  unit_amount: P.amount().optional(),
  unit_amount_decimal: wholeDecimal().optional(),
  recurring: recurring().optional(),
  tax_behavior: P.oneOf(['exclusive', 'inclusive', 'unspecified'] as const).optional(),
  currency_options: unsupported('currency_options', NO_CURRENCY_OPTIONS).optional(),
  custom_unit_amount: unsupported('custom_unit_amount', NO_CUSTOM_AMOUNTS).optional(),
};

export const createPriceSchema = z.strictObject({
  ...priceFields,
  product: P.nonEmptyText(255).optional(),
  product_data: z
    .strictObject({
      name: P.nonEmptyText(5000),
      active: P.boolean().optional(),
      metadata: P.metadata().optional(),
      statement_descriptor: statementDescriptor().optional(),
      unit_label: P.text(12).optional(),
      id: unsupported('product_data[id]', OWN_IDS).optional(),
      tax_code: unsupported('product_data[tax_code]', NO_TAX).optional(),
    })
    .optional(),
  active: P.boolean().optional(),
  billing_scheme: P.oneOf(['per_unit', 'tiered'] as const).optional(),
  tiers: indexedList(tier(), 250).optional(),
  tiers_mode: P.oneOf(['graduated', 'volume'] as const).optional(),
  transform_quantity: z.strictObject({ divide_by: P.integer({ min: 1, max: 1_000_000_000 }), round: P.oneOf(['up', 'down'] as const) }).optional(),
  lookup_key: P.nonEmptyText(200).optional(),
  transfer_lookup_key: P.boolean().optional(),
  nickname: P.text(5000).optional(),
  metadata: P.metadata().optional(),
  expand: priceExpand().optional(),
});

export const updatePriceSchema = z.strictObject({
  active: P.boolean().optional(),
  lookup_key: P.clearableText(200).optional(),
  transfer_lookup_key: P.boolean().optional(),
  nickname: P.clearableText(5000).optional(),
  metadata: P.metadata().optional(),
  tax_behavior: P.oneOf(['exclusive', 'inclusive', 'unspecified'] as const).optional(),
  currency_options: unsupported('currency_options', NO_CURRENCY_OPTIONS).optional(),
  expand: priceExpand().optional(),
});

export const createProductSchema = z.strictObject({
  name: P.nonEmptyText(5000),
  active: P.boolean().optional(),
  description: P.text(40000).optional(),
  features: features().optional(),
  images: images().optional(),
  metadata: P.metadata().optional(),
  package_dimensions: packageDimensions().optional(),
  shippable: P.boolean().optional(),
  statement_descriptor: statementDescriptor().optional(),
  unit_label: P.text(12).optional(),
  url: P.text(5000).optional(),
  default_price_data: z.strictObject(priceFields).optional(),
  id: unsupported('id', OWN_IDS).optional(),
  tax_code: unsupported('tax_code', NO_TAX).optional(),
  expand: productExpand().optional(),
});

export const updateProductSchema = z.strictObject({
  name: P.nonEmptyText(5000).optional(),
  active: P.boolean().optional(),
  default_price: P.clearableText(255).optional(),
  description: P.clearableText(40000).optional(),
  features: clearable(features()).optional(),
  images: clearable(images()).optional(),
  metadata: P.metadata().optional(),
  package_dimensions: clearable(packageDimensions()).optional(),
  shippable: P.boolean().optional(),
  statement_descriptor: statementDescriptor().optional(),
  unit_label: P.clearableText(12).optional(),
  url: P.clearableText(5000).optional(),
  tax_code: unsupported('tax_code', NO_TAX).optional(),
  expand: productExpand().optional(),
});

export const retrieveProductSchema = z.strictObject({ expand: productExpand().optional() });
export const retrievePriceSchema = z.strictObject({ expand: priceExpand().optional() });
export const deleteProductSchema = z.strictObject({});

export const listProductsSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpandProduct).optional(),
  active: P.boolean().optional(),
  ids: P.textList(255, 100).optional(),
  shippable: P.boolean().optional(),
  url: P.text(5000).optional(),
});

export const listPricesSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpandPrice).optional(),
  active: P.boolean().optional(),
  currency: P.currency().optional(),
  product: P.text(255).optional(),
  type: P.oneOf(['one_time', 'recurring'] as const).optional(),
  lookup_keys: P.textList(200, 10).optional(),
  recurring: z
    .strictObject({ interval: P.oneOf(['day', 'week', 'month', 'year'] as const).optional(), usage_type: P.oneOf(['licensed', 'metered'] as const).optional() })
    .optional(),
});

export const searchSchema = (canExpandItem: (segments: readonly string[]) => boolean) =>
  z.strictObject({
    query: P.nonEmptyText(5000),
    limit: P.integer({ min: 1, max: 100 }).optional(),
    page: P.text(5000).optional(),
    expand: expandableList(canExpandItem).optional(),
  });
export const searchProductsSchema = searchSchema(canExpandProduct);
export const searchPricesSchema = searchSchema(canExpandPrice);

import { z } from 'zod';
import type { ErrorCode } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { canExpandSessionPath } from './expand.js';

/**
 * The parameters of /v1/checkout/sessions as Stripe documents them. Strict objects: an unknown
 * parameter is a 400 naming it, and the Stripe parameters Payrail does not support yet are refused by
 * name with the reason, never ignored.
 */

function refuse(ctx: z.RefinementCtx, code: ErrorCode, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code: code } });
  return z.NEVER;
}

const unsupported = (param: string, reason: string) =>
  z.unknown().transform((_value, ctx) => refuse(ctx, 'parameter_unknown', `Received unknown parameter: ${param}. ${reason}`));

const noCatalog = (param: string, kind: string) =>
  z.unknown().transform((value, ctx) => {
    const shown = typeof value === 'string' && /^[\w-]{1,64}$/.test(value) ? value : '';
    return refuse(ctx, 'resource_missing', `No such ${kind}: '${shown}'. Payrail has no ${kind}s yet; describe the item with price_data and product_data.`);
  });

/** `x[0][…]=…` arrives as an object keyed by index; a JSON body sends an array. */
const indexedList = <S extends z.ZodType>(item: S, max: number) =>
  z.preprocess((value) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.values(value) : value), z.array(item).min(1).max(max));

const productData = z.strictObject({
  name: P.nonEmptyText(5000),
  description: P.text(40000).optional(),
  images: unsupported('images', 'Product images are not shown on the hosted page yet.').optional(),
  metadata: P.metadata().optional(),
  tax_code: unsupported('tax_code', 'Payrail computes no tax.').optional(),
});

const priceData = z.strictObject({
  currency: P.currency(),
  product_data: productData,
  unit_amount: P.amount(),
  product: noCatalog('product', 'product').optional(),
  recurring: z
    .unknown()
    .transform((_value, ctx) => refuse(ctx, 'parameter_invalid', 'You must be in subscription mode to specify a recurring price.'))
    .optional(),
  tax_behavior: unsupported('tax_behavior', 'Payrail computes no tax.').optional(),
  unit_amount_decimal: unsupported('unit_amount_decimal', 'Use unit_amount, an integer in minor units.').optional(),
});

// `price` first: a line item naming a catalog price is told there are none before it is told price_data is missing.
const lineItem = z.strictObject({
  price: noCatalog('price', 'price').optional(),
  price_data: priceData,
  quantity: P.integer({ min: 1, max: 999_999 }),
  adjustable_quantity: unsupported('adjustable_quantity', 'Quantities are fixed on the hosted page.').optional(),
  dynamic_tax_rates: unsupported('dynamic_tax_rates', 'Payrail computes no tax.').optional(),
  tax_rates: unsupported('tax_rates', 'Payrail computes no tax.').optional(),
});

const intentData = z.strictObject({
  capture_method: P.oneOf(['automatic', 'automatic_async', 'manual'] as const).optional(),
  description: P.text(1000).optional(),
  metadata: P.metadata().optional(),
  receipt_email: P.text(800).optional(),
  setup_future_usage: P.oneOf(['off_session', 'on_session'] as const).optional(),
  statement_descriptor: P.text(22).optional(),
  statement_descriptor_suffix: P.text(22).optional(),
  application_fee_amount: unsupported('application_fee_amount', 'Connect is not supported.').optional(),
  on_behalf_of: unsupported('on_behalf_of', 'Connect is not supported.').optional(),
  transfer_data: unsupported('transfer_data', 'Connect is not supported.').optional(),
  transfer_group: unsupported('transfer_group', 'Connect is not supported.').optional(),
  shipping: unsupported('shipping', 'Shipping is not collected by the hosted page yet.').optional(),
});

const notYet = (param: string) => unsupported(param, 'The hosted page does not offer it yet.').optional();

export const createSessionSchema = z.strictObject({
  mode: P.oneOf(['payment', 'setup', 'subscription'] as const),
  success_url: P.nonEmptyText(5000),
  cancel_url: P.nonEmptyText(5000).optional(),
  line_items: indexedList(lineItem, 100).optional(),
  currency: P.currency().optional(),
  customer: P.nonEmptyText(255).optional(),
  customer_email: P.nonEmptyText(800).optional(),
  client_reference_id: P.nonEmptyText(200).optional(),
  metadata: P.metadata().optional(),
  payment_intent_data: intentData.optional(),
  payment_method_types: indexedList(P.oneOf(['card'] as const), 1).optional(),
  expires_at: P.integer({ min: 0 }).optional(),
  submit_type: P.oneOf(['auto', 'book', 'donate', 'pay'] as const).optional(),
  locale: P.oneOf(['auto', 'en'] as const).optional(),
  customer_creation: P.oneOf(['if_required'] as const).optional(),
  expand: expandable(canExpandSessionPath).optional(),
  after_expiration: notYet('after_expiration'),
  allow_promotion_codes: notYet('allow_promotion_codes'),
  automatic_tax: notYet('automatic_tax'),
  billing_address_collection: notYet('billing_address_collection'),
  consent_collection: notYet('consent_collection'),
  custom_fields: notYet('custom_fields'),
  custom_text: notYet('custom_text'),
  customer_update: notYet('customer_update'),
  discounts: notYet('discounts'),
  invoice_creation: notYet('invoice_creation'),
  payment_method_collection: notYet('payment_method_collection'),
  payment_method_options: notYet('payment_method_options'),
  phone_number_collection: notYet('phone_number_collection'),
  setup_intent_data: notYet('setup_intent_data'),
  shipping_address_collection: notYet('shipping_address_collection'),
  shipping_options: notYet('shipping_options'),
  subscription_data: unsupported('subscription_data', 'Subscriptions need billing, which Payrail does not have yet.').optional(),
  tax_id_collection: notYet('tax_id_collection'),
});

export type CreateSessionParams = z.output<typeof createSessionSchema>;

export const retrieveSchema = z.strictObject({ expand: expandable(canExpandSessionPath).optional() });

export const expireSchema = z.strictObject({ expand: expandable(canExpandSessionPath).optional() });

export const listSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpandSessionPath).optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_intent: P.nonEmptyText(255).optional(),
  customer_details: unsupported('customer_details', 'Filter by customer instead.').optional(),
  payment_link: unsupported('payment_link', 'Payment Links are not supported.').optional(),
  subscription: unsupported('subscription', 'Subscriptions are not supported.').optional(),
});

export const lineItemsSchema = z.strictObject({
  limit: P.integer({ min: 1, max: 100 }).optional(),
  starting_after: P.text(255).optional(),
  ending_before: P.text(255).optional(),
  expand: P.expand().optional(),
});

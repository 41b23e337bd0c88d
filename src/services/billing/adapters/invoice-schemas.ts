import { z } from 'zod';
import type { ErrorCode } from '../../../kernel/errors.js';
import { MAX_AMOUNT } from '../../../kernel/money.js';
import * as P from '../../../platform/http/params.js';
import { INVOICE_ITEM_QUANTITY_MAX } from '../domain/invoice-item.js';

/**
 * The parameters of /v1/invoices and /v1/invoiceitems as Stripe documents them (2023-08-16). Strict
 * objects: an unknown parameter is a 400 naming it, and Stripe's parameters Payrail does not support
 * (tax, discounts, Connect, shipping) are refused by name with the reason, never ignored.
 */

function refuse(ctx: z.RefinementCtx, code: ErrorCode, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code: code } });
  return z.NEVER;
}

const unsupported = (param: string, reason: string) =>
  z
    .unknown()
    .transform((_value, ctx) => refuse(ctx, 'parameter_unknown', `Received unknown parameter: ${param}. ${reason}`))
    .optional();

const NO_TAX = 'Payrail computes no tax.';
const NO_DISCOUNTS = 'Payrail has no coupons or discounts yet.';
const NO_CONNECT = 'Payrail has no Connect accounts.';

/** Refused on create and update alike: parts of Stripe's invoice Payrail does not have. */
const invoiceUnsupported = {
  account_tax_ids: unsupported('account_tax_ids', NO_TAX),
  application_fee_amount: unsupported('application_fee_amount', NO_CONNECT),
  automatic_tax: unsupported('automatic_tax', NO_TAX),
  custom_fields: unsupported('custom_fields', 'Custom fields are not shown on invoices yet.'),
  default_source: unsupported('default_source', 'Invoices are paid with PaymentMethods: use default_payment_method.'),
  default_tax_rates: unsupported('default_tax_rates', NO_TAX),
  discounts: unsupported('discounts', NO_DISCOUNTS),
  effective_at: unsupported('effective_at', 'An invoice is effective when it is finalized.'),
  on_behalf_of: unsupported('on_behalf_of', NO_CONNECT),
  payment_settings: unsupported('payment_settings', 'Invoices are paid by card.'),
  rendering_options: unsupported('rendering_options', NO_TAX),
  shipping_cost: unsupported('shipping_cost', 'Invoices carry no shipping yet.'),
  shipping_details: unsupported('shipping_details', 'Invoices carry no shipping yet.'),
  statement_descriptor: unsupported('statement_descriptor', 'The payment takes the account’s statement descriptor.'),
  transfer_data: unsupported('transfer_data', NO_CONNECT),
};

const invoiceFields = {
  auto_advance: P.boolean().optional(),
  collection_method: P.oneOf(['charge_automatically', 'send_invoice'] as const).optional(),
  days_until_due: P.integer({ min: 0, max: 730 }).optional(),
  due_date: P.integer({ min: 0 }).optional(),
  default_payment_method: P.clearableText(255).optional(),
  description: P.clearableText(1500).optional(),
  footer: P.clearableText(5000).optional(),
  metadata: P.metadata().optional(),
  expand: P.expand().optional(),
  ...invoiceUnsupported,
};

export const createInvoiceSchema = z.strictObject({
  customer: P.nonEmptyText(255),
  currency: P.currency().optional(),
  pending_invoice_items_behavior: P.oneOf(['exclude', 'include'] as const).optional(),
  subscription: P.nonEmptyText(255).optional(),
  from_invoice: unsupported('from_invoice', 'Invoice revisions are not supported yet.'),
  ...invoiceFields,
});
export type CreateInvoiceParams = z.output<typeof createInvoiceSchema>;

export const updateInvoiceSchema = z.strictObject(invoiceFields);
export type UpdateInvoiceParams = z.output<typeof updateInvoiceSchema>;

export const finalizeSchema = z.strictObject({ auto_advance: P.boolean().optional(), expand: P.expand().optional() });
export const expandOnlySchema = z.strictObject({ expand: P.expand().optional() });

export const paySchema = z.strictObject({
  off_session: P.boolean().optional(),
  paid_out_of_band: P.boolean().optional(),
  payment_method: P.nonEmptyText(255).optional(),
  forgive: unsupported('forgive', 'Partial payments are not supported.'),
  mandate: unsupported('mandate', 'Invoices are paid by card.'),
  source: unsupported('source', 'Invoices are paid with PaymentMethods: use payment_method.'),
  expand: P.expand().optional(),
});
export type PayParams = z.output<typeof paySchema>;

export const listInvoicesSchema = z.strictObject({
  ...P.listParams,
  customer: P.text(255).optional(),
  status: P.oneOf(['draft', 'open', 'paid', 'uncollectible', 'void'] as const).optional(),
  subscription: P.text(255).optional(),
  collection_method: P.oneOf(['charge_automatically', 'send_invoice'] as const).optional(),
  due_date: unsupported('due_date', 'Filter by created instead.'),
});

export const linesSchema = z.strictObject({
  limit: P.integer({ min: 1, max: 100 }).optional(),
  starting_after: P.text(255).optional(),
  ending_before: P.text(255).optional(),
  expand: P.expand().optional(),
});

export const upcomingSchema = z.strictObject({
  customer: P.text(255).optional(),
  subscription: P.text(255).optional(),
  currency: P.currency().optional(),
  expand: P.expand().optional(),
  limit: P.integer({ min: 1, max: 100 }).optional(),
  starting_after: P.text(255).optional(),
  ending_before: P.text(255).optional(),
});

// Invoice items

const period = z.strictObject({ start: P.integer({ min: 0 }), end: P.integer({ min: 0 }) });
const signedAmount = () => P.integer({ min: -MAX_AMOUNT, max: MAX_AMOUNT });

const itemFields = {
  amount: signedAmount().optional(),
  unit_amount: signedAmount().optional(),
  quantity: P.integer({ min: 0, max: INVOICE_ITEM_QUANTITY_MAX }).optional(),
  price: P.nonEmptyText(255).optional(),
  description: P.clearableText(5000).optional(),
  metadata: P.metadata().optional(),
  period: period.optional(),
  discountable: unsupported('discountable', NO_DISCOUNTS),
  discounts: unsupported('discounts', NO_DISCOUNTS),
  price_data: unsupported('price_data', 'Name a catalog price with price, or give amount or unit_amount.'),
  tax_behavior: unsupported('tax_behavior', NO_TAX),
  tax_code: unsupported('tax_code', NO_TAX),
  tax_rates: unsupported('tax_rates', NO_TAX),
  unit_amount_decimal: unsupported('unit_amount_decimal', 'Use unit_amount, an integer in minor units.'),
  expand: P.expand().optional(),
};

export const createItemSchema = z.strictObject({
  customer: P.nonEmptyText(255),
  currency: P.currency().optional(),
  invoice: P.nonEmptyText(255).optional(),
  subscription: unsupported('subscription', 'Items are attached to a subscription by the subscription itself.'),
  ...itemFields,
});
export type CreateItemParams = z.output<typeof createItemSchema>;

export const updateItemSchema = z.strictObject(itemFields);
export type UpdateItemParams = z.output<typeof updateItemSchema>;

export const listItemsSchema = z.strictObject({
  ...P.listParams,
  customer: P.text(255).optional(),
  invoice: P.text(255).optional(),
  pending: P.boolean().optional(),
});

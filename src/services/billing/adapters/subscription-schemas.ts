import { z } from 'zod';
import type { ErrorCode } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { MAX_ITEMS, MAX_QUANTITY, SUBSCRIPTION_STATUSES } from '../domain/subscription.js';
import { canExpandSubscriptionPath } from './subscription-expand.js';

/**
 * The parameters of /v1/subscriptions and /v1/subscription_items as Stripe documents them (API
 * 2023-08-16). Strict objects: an unknown parameter is a 400 naming it; Stripe's parameters Payrail
 * does not support are refused by name with the reason, never ignored.
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

const NO_TAX = 'Payrail computes no tax (Stripe Tax is not supported).';
const NO_CONNECT = 'Connect is not supported.';
const NO_DISCOUNTS = 'Coupons and promotion codes are not supported yet.';
const NO_FEEDBACK = 'Payrail records no cancellation comment or feedback yet.';
const NO_THRESHOLDS = 'Usage thresholds are not supported: every price is licensed.';

/** `x[0][…]=…` arrives as an object keyed by index; a JSON body sends an array. */
const indexedList = <S extends z.ZodType>(item: S, min: number, max: number) =>
  z.preprocess(
    (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.values(value) : value),
    z
      .array(item)
      .min(min, { message: `At least ${min} entries are required.` })
      .max(max, { message: `At most ${max} entries are allowed.` }),
  );

const quantity = () => P.integer({ min: 0, max: MAX_QUANTITY });
const timestamp = () => P.integer({ min: 1 });
const trialEnd = () => z.union([z.literal('now'), timestamp()]);
const prorationBehavior = () => P.oneOf(['create_prorations', 'none', 'always_invoice'] as const);
/**
 * A change's invoice is paid after the change is recorded, so a decline leaves the change in place
 * (Stripe's default, `allow_incomplete`); Stripe's other behaviors undo or hold the change on a decline.
 */
const changePaymentBehavior = () =>
  z
    .unknown()
    .transform((value, ctx) =>
      value === 'allow_incomplete'
        ? value
        : refuse(ctx, 'parameter_invalid', 'Payrail applies a change before its invoice is paid: only payment_behavior=allow_incomplete is supported.'),
    )
    .optional();
const collectionMethod = () => P.oneOf(['charge_automatically', 'send_invoice'] as const);

const itemCommon = {
  metadata: P.metadata().optional(),
  billing_thresholds: unsupported('billing_thresholds', NO_THRESHOLDS),
  price_data: unsupported('price_data', 'Create the price with POST /v1/prices and pass its id as `price`.'),
  tax_rates: unsupported('tax_rates', NO_TAX),
  plan: unsupported('plan', 'Plans are the older form of prices: pass a price id as `price`.'),
};

const createItem = z.strictObject({ price: P.nonEmptyText(255), quantity: quantity().optional(), ...itemCommon });

/** An update's item: an existing one by `id` (new quantity or price, or `deleted`), or a new one by `price`. */
const updateItem = z.strictObject({
  id: P.nonEmptyText(255).optional(),
  price: P.nonEmptyText(255).optional(),
  quantity: quantity().optional(),
  deleted: P.boolean().optional(),
  clear_usage: unsupported('clear_usage', 'Metered prices are not supported.'),
  ...itemCommon,
});

const common = {
  default_payment_method: P.nonEmptyText(255).optional(),
  collection_method: collectionMethod().optional(),
  days_until_due: P.integer({ min: 0, max: 730 }).optional(),
  cancel_at_period_end: P.boolean().optional(),
  description: P.text(500).optional(),
  metadata: P.metadata().optional(),
  off_session: P.boolean().optional(),
  proration_behavior: prorationBehavior().optional(),
  expand: expandable(canExpandSubscriptionPath).optional(),
  application_fee_percent: unsupported('application_fee_percent', NO_CONNECT),
  automatic_tax: unsupported('automatic_tax', NO_TAX),
  billing_thresholds: unsupported('billing_thresholds', NO_THRESHOLDS),
  coupon: unsupported('coupon', NO_DISCOUNTS),
  default_source: unsupported('default_source', 'Sources are not supported: use default_payment_method.'),
  default_tax_rates: unsupported('default_tax_rates', NO_TAX),
  on_behalf_of: unsupported('on_behalf_of', NO_CONNECT),
  payment_settings: unsupported('payment_settings', 'Invoices are paid by card with the default payment method.'),
  pending_invoice_item_interval: unsupported('pending_invoice_item_interval', 'Pending invoice items are billed with the next invoice.'),
  promotion_code: unsupported('promotion_code', NO_DISCOUNTS),
  transfer_data: unsupported('transfer_data', NO_CONNECT),
  trial_settings: unsupported('trial_settings', 'A trial that ends without a payment method is invoiced, as Stripe does by default.'),
};

export const createSubscriptionSchema = z.strictObject({
  customer: P.nonEmptyText(255),
  items: indexedList(createItem, 1, MAX_ITEMS),
  currency: P.currency().optional(),
  trial_end: trialEnd().optional(),
  trial_period_days: P.integer({ min: 0, max: 730 }).optional(),
  trial_from_plan: P.boolean().optional(),
  cancel_at: timestamp().optional(),
  billing_cycle_anchor: timestamp().optional(),
  payment_behavior: P.oneOf(['allow_incomplete', 'default_incomplete', 'error_if_incomplete'] as const).optional(),
  add_invoice_items: unsupported('add_invoice_items', 'Create invoice items with POST /v1/invoiceitems before the subscription.'),
  backdate_start_date: unsupported('backdate_start_date', 'Subscriptions start when they are created.'),
  ...common,
});
export type CreateSubscriptionParams = z.output<typeof createSubscriptionSchema>;

export const updateSubscriptionSchema = z.strictObject({
  items: indexedList(updateItem, 1, MAX_ITEMS).optional(),
  trial_end: trialEnd().optional(),
  cancel_at: z.union([z.literal(''), timestamp()]).optional(),
  payment_behavior: changePaymentBehavior(),
  proration_date: timestamp().optional(),
  cancellation_details: unsupported('cancellation_details', NO_FEEDBACK),
  pause_collection: unsupported('pause_collection', 'Pausing collection is not supported yet; cancel at the period end instead.'),
  billing_cycle_anchor: unsupported('billing_cycle_anchor', 'Resetting the billing cycle of a subscription is not supported yet.'),
  trial_from_plan: unsupported('trial_from_plan', 'Prices carry no trial in Payrail; pass trial_end.'),
  add_invoice_items: unsupported('add_invoice_items', 'Create invoice items with POST /v1/invoiceitems.'),
  ...common,
});
export type UpdateSubscriptionParams = z.output<typeof updateSubscriptionSchema>;

export const cancelSubscriptionSchema = z.strictObject({
  invoice_now: P.boolean().optional(),
  prorate: P.boolean().optional(),
  cancellation_details: unsupported('cancellation_details', NO_FEEDBACK),
  expand: expandable(canExpandSubscriptionPath).optional(),
});
export type CancelSubscriptionParams = z.output<typeof cancelSubscriptionSchema>;

export const retrieveSubscriptionSchema = z.strictObject({ expand: expandable(canExpandSubscriptionPath).optional() });

const range = () => z.unknown().optional();

export const listSubscriptionsSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(canExpandSubscriptionPath).optional(),
  customer: P.nonEmptyText(255).optional(),
  price: P.nonEmptyText(255).optional(),
  status: P.oneOf([...SUBSCRIPTION_STATUSES, 'all', 'ended'] as const).optional(),
  collection_method: collectionMethod().optional(),
  test_clock: P.nonEmptyText(255).optional(),
  current_period_start: range(),
  current_period_end: range(),
  plan: unsupported('plan', 'Filter by price instead.'),
  automatic_tax: unsupported('automatic_tax', NO_TAX),
});
export type ListSubscriptionsParams = z.output<typeof listSubscriptionsSchema>;

export const createItemSchema = z.strictObject({
  subscription: P.nonEmptyText(255),
  price: P.nonEmptyText(255),
  quantity: quantity().optional(),
  proration_behavior: prorationBehavior().optional(),
  proration_date: timestamp().optional(),
  payment_behavior: changePaymentBehavior(),
  ...itemCommon,
});
export type CreateItemParams = z.output<typeof createItemSchema>;

export const updateItemSchema = z.strictObject({
  price: P.nonEmptyText(255).optional(),
  quantity: quantity().optional(),
  proration_behavior: prorationBehavior().optional(),
  proration_date: timestamp().optional(),
  payment_behavior: changePaymentBehavior(),
  off_session: P.boolean().optional(),
  ...itemCommon,
});
export type UpdateItemParams = z.output<typeof updateItemSchema>;

export const deleteItemSchema = z.strictObject({
  proration_behavior: prorationBehavior().optional(),
  proration_date: timestamp().optional(),
  clear_usage: unsupported('clear_usage', 'Metered prices are not supported.'),
});
export type DeleteItemParams = z.output<typeof deleteItemSchema>;

export const retrieveItemSchema = z.strictObject({ expand: P.expand().optional() });

export const listItemsSchema = z.strictObject({
  limit: P.integer({ min: 1, max: 100 }).optional(),
  starting_after: P.text(255).optional(),
  ending_before: P.text(255).optional(),
  expand: P.expand().optional(),
  subscription: P.nonEmptyText(255),
});

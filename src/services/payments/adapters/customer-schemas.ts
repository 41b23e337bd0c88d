import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import * as S from './param-shapes.js';
import { cardOrToken } from './legacy-routes.js';

/** The parameters of the customer and PaymentMethod routes, as Stripe documents them (strict: unknown ones are a 400). */

const BILLING = 'Coupons and promotion codes are not supported.';
const SOURCES = 'Sources are not supported: save cards as PaymentMethods (`payment_method`).';

const invoiceSettings = () =>
  z.strictObject({
    custom_fields: S.clearable(z.array(z.strictObject({ name: P.nonEmptyText(40), value: P.nonEmptyText(140) })).max(4)).optional(),
    default_payment_method: P.clearableText(255).optional(),
    footer: P.clearableText(5000).optional(),
    rendering_options: S.unsupported('invoice_settings[rendering_options]', BILLING).optional(),
  });

const INVOICE_PREFIX = /^[A-Z0-9]{3,12}$/;
/** Stripe's bound on any amount, in minor units. */
const MAX_BALANCE = 99_999_999_999;

const customerFields = {
  address: S.clearable(S.address()).optional(),
  balance: P.integer({ min: -MAX_BALANCE, max: MAX_BALANCE }).optional(),
  description: P.clearableText(1000).optional(),
  email: P.clearableText(512).optional(),
  invoice_prefix: P.text(12)
    .refine((value) => INVOICE_PREFIX.test(value), { message: 'invoice_prefix must be 3 to 12 uppercase letters or digits.' })
    .optional(),
  invoice_settings: invoiceSettings().optional(),
  metadata: P.metadata().optional(),
  name: P.clearableText(256).optional(),
  next_invoice_sequence: P.integer({ min: 1, max: 1_000_000_000 }).optional(),
  phone: P.clearableText(20).optional(),
  preferred_locales: S.clearable(P.textList(16, 20)).optional(),
  shipping: S.clearable(S.shipping()).optional(),
  tax_exempt: P.oneOf(['', 'exempt', 'none', 'reverse'] as const).optional(),
  cash_balance: S.unsupported('cash_balance', 'Cash balances are not supported.').optional(),
  coupon: S.unsupported('coupon', BILLING).optional(),
  promotion_code: S.unsupported('promotion_code', BILLING).optional(),
  source: S.unsupported('source', SOURCES).optional(),
  tax: S.unsupported('tax', 'Stripe Tax is not supported.').optional(),
  expand: S.expandFor('customer').optional(),
};

export const createCustomerSchema = z.strictObject({
  ...customerFields,
  payment_method: P.nonEmptyText(255).optional(),
  tax_id_data: S.unsupported('tax_id_data', 'Tax IDs are not supported yet.').optional(),
  test_clock: P.nonEmptyText(255).optional(),
});

export const updateCustomerSchema = z.strictObject({
  ...customerFields,
  default_source: S.unsupported('default_source', SOURCES).optional(),
  card: S.unsupported('card', SOURCES).optional(),
  bank_account: S.unsupported('bank_account', SOURCES).optional(),
  default_card: S.unsupported('default_card', SOURCES).optional(),
  default_bank_account: S.unsupported('default_bank_account', SOURCES).optional(),
  default_alipay_account: S.unsupported('default_alipay_account', SOURCES).optional(),
});

export const createPaymentMethodSchema = z.strictObject({
  type: P.oneOf(['card'] as const),
  card: cardOrToken(),
  billing_details: S.billingDetails().optional(),
  metadata: P.metadata().optional(),
  expand: S.expandFor('payment_method').optional(),
});

export const updatePaymentMethodSchema = z.strictObject({
  billing_details: S.billingDetails().optional(),
  card: z.strictObject({ exp_month: P.integer().optional(), exp_year: P.integer().optional() }).optional(),
  metadata: P.metadata().optional(),
  link: S.unsupported('link', 'Link is not supported.').optional(),
  us_bank_account: S.unsupported('us_bank_account', 'Bank accounts are not supported.').optional(),
  expand: S.expandFor('payment_method').optional(),
});

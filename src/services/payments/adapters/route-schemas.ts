import { z } from 'zod';
import * as P from '../../../platform/http/params.js';

/**
 * The parameters each payments route accepts, as Stripe documents them: strict objects, so an unknown
 * parameter is a 400 naming it. The refund's schema is in commands.ts, shared with the CLI.
 */

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;

const intentFields = {
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  receipt_email: P.clearableText(800).optional(),
  statement_descriptor: P.clearableText(22).optional(),
  statement_descriptor_suffix: P.clearableText(22).optional(),
  setup_future_usage: P.oneOf(['off_session', 'on_session'] as const).optional(),
  payment_method_types: z.unknown().optional(),
  expand: P.expand().optional(),
};

export const createIntentSchema = z.strictObject({
  amount: P.amount(),
  currency: P.currency(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  confirmation_method: P.oneOf(['automatic', 'manual'] as const).optional(),
  confirm: P.boolean().optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  return_url: P.text(2048).optional(),
  ...intentFields,
});

export const updateIntentSchema = z.strictObject({
  amount: P.amount().optional(),
  currency: P.currency().optional(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  ...intentFields,
});

export const confirmSchema = z.strictObject({
  payment_method: P.nonEmptyText(255).optional(),
  return_url: P.text(2048).optional(),
  receipt_email: P.clearableText(800).optional(),
  setup_future_usage: P.oneOf(['off_session', 'on_session'] as const).optional(),
  expand: P.expand().optional(),
});
export const captureSchema = z.strictObject({ amount_to_capture: P.amount().optional(), expand: P.expand().optional(), metadata: P.metadata().optional() });
export const cancelSchema = z.strictObject({ cancellation_reason: P.oneOf(CANCELLATION_REASONS).optional(), expand: P.expand().optional() });
export const authenticateSchema = z.strictObject({ outcome: P.oneOf(['succeeded', 'failed'] as const).optional(), client_secret: P.text(255).optional() });

export const customerSchema = z.strictObject({
  email: P.clearableText(512).optional(),
  name: P.clearableText(256).optional(),
  description: P.clearableText(1000).optional(),
  phone: P.clearableText(20).optional(),
  metadata: P.metadata().optional(),
  expand: P.expand().optional(),
});

const cardSchema = z.strictObject({
  number: z.unknown(),
  exp_month: z.unknown(),
  exp_year: z.unknown(),
  cvc: z.unknown().optional(),
});
const billingSchema = z.strictObject({
  email: P.clearableText(512).optional(),
  name: P.clearableText(256).optional(),
  phone: P.clearableText(20).optional(),
  address: z
    .strictObject({
      city: P.text(200).optional(),
      country: P.text(200).optional(),
      line1: P.text(200).optional(),
      line2: P.text(200).optional(),
      postal_code: P.text(200).optional(),
      state: P.text(200).optional(),
    })
    .optional(),
});
export const createPaymentMethodSchema = z.strictObject({
  type: P.oneOf(['card'] as const),
  card: cardSchema,
  billing_details: billingSchema.optional(),
  metadata: P.metadata().optional(),
  expand: P.expand().optional(),
});
export const attachSchema = z.strictObject({ customer: P.nonEmptyText(255), expand: P.expand().optional() });
export const emptySchema = z.strictObject({ expand: P.expand().optional() });

const listBase = z.strictObject(P.listParams);
export const intentListSchema = listBase.extend({ customer: P.text(255).optional() });
export const chargeListSchema = listBase.extend({ customer: P.text(255).optional(), payment_intent: P.text(255).optional() });
export const refundListSchema = listBase.extend({ charge: P.text(255).optional(), payment_intent: P.text(255).optional() });
export const customerListSchema = listBase.extend({ email: P.text(512).optional() });
export const customerPaymentMethodListSchema = listBase.extend({ type: P.oneOf(['card'] as const).optional() });
export const paymentMethodListSchema = listBase.extend({ customer: P.text(255), type: P.oneOf(['card'] as const).optional() });
export const retrieveSchema = z.strictObject({ expand: P.expand().optional(), client_secret: P.text(255).optional() });

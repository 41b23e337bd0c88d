import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import * as S from './param-shapes.js';
import type { ObjectType } from './expand-graph.js';

/**
 * The parameters each payments route accepts, as Stripe documents them: strict objects, so an unknown
 * parameter is a 400 naming it. The refund's schema is in commands.ts, shared with the CLI.
 */

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;
const FUTURE_USAGE = ['off_session', 'on_session'] as const;

const intentFields = {
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  receipt_email: P.clearableText(800).optional(),
  statement_descriptor: S.statementDescriptor().optional(),
  statement_descriptor_suffix: S.statementDescriptor().optional(),
  setup_future_usage: P.oneOf(FUTURE_USAGE).optional(),
  payment_method_types: S.paymentMethodTypes().optional(),
  payment_method_options: S.paymentMethodOptions().optional(),
  payment_method_data: S.paymentMethodData().optional(),
  application_fee_amount: P.amount().optional(),
  transfer_group: P.nonEmptyText(5000).optional(),
  expand: S.expandFor('payment_intent').optional(),
};

/** What a confirm may carry, on create (`confirm=true`) and on /confirm alike. */
const confirmFields = {
  error_on_requires_action: P.boolean().optional(),
  off_session: S.offSession().optional(),
  return_url: P.text(2048).optional(),
  use_stripe_sdk: P.boolean().optional(),
  mandate: S.mandateRefusal('mandate').optional(),
  mandate_data: S.mandateRefusal('mandate_data').optional(),
  radar_options: S.unsupported('radar_options', 'Radar sessions are not supported.').optional(),
};

export const createIntentSchema = z.strictObject({
  amount: P.amount(),
  currency: P.currency(),
  automatic_payment_methods: S.automaticPaymentMethods().optional(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  confirmation_method: P.oneOf(['automatic', 'manual'] as const).optional(),
  confirm: P.boolean().optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  shipping: S.shipping().optional(),
  on_behalf_of: S.connectRefusal('on_behalf_of').optional(),
  // The destination is fixed at creation: an update may change only the amount transferred.
  transfer_data: z.strictObject({ destination: P.nonEmptyText(255), amount: P.amount().optional() }).optional(),
  ...confirmFields,
  ...intentFields,
});

export const updateIntentSchema = z.strictObject({
  amount: P.amount().optional(),
  currency: P.currency().optional(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  shipping: S.clearable(S.shipping()).optional(),
  transfer_data: z.strictObject({ amount: P.amount().optional() }).optional(),
  ...intentFields,
});

export const confirmSchema = z.strictObject({
  payment_method: P.nonEmptyText(255).optional(),
  payment_method_data: S.paymentMethodData().optional(),
  payment_method_options: S.paymentMethodOptions().optional(),
  payment_method_types: S.paymentMethodTypes().optional(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  receipt_email: P.clearableText(800).optional(),
  setup_future_usage: P.oneOf(FUTURE_USAGE).optional(),
  shipping: S.clearable(S.shipping()).optional(),
  client_secret: P.text(255).optional(),
  ...confirmFields,
  expand: S.expandFor('payment_intent').optional(),
});
export const captureSchema = z.strictObject({
  amount_to_capture: P.amount().optional(),
  statement_descriptor: S.statementDescriptor().optional(),
  statement_descriptor_suffix: S.statementDescriptor().optional(),
  application_fee_amount: S.connectRefusal('application_fee_amount').optional(),
  transfer_data: S.connectRefusal('transfer_data').optional(),
  expand: S.expandFor('payment_intent').optional(),
  metadata: P.metadata().optional(),
});
export const cancelSchema = z.strictObject({ cancellation_reason: P.oneOf(CANCELLATION_REASONS).optional(), expand: S.expandFor('payment_intent').optional() });
export const incrementAuthorizationSchema = z.strictObject({
  amount: P.amount(),
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  statement_descriptor: S.statementDescriptor().optional(),
  application_fee_amount: S.connectRefusal('application_fee_amount').optional(),
  transfer_data: S.connectRefusal('transfer_data').optional(),
  expand: S.expandFor('payment_intent').optional(),
});
export const authenticateSchema = z.strictObject({ outcome: P.oneOf(['succeeded', 'failed'] as const).optional(), client_secret: P.text(255).optional() });

export const updateChargeSchema = z.strictObject({
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  receipt_email: P.clearableText(800).optional(),
  shipping: S.clearable(S.shipping()).optional(),
  fraud_details: z.strictObject({ user_report: P.oneOf(['', 'fraudulent', 'safe'] as const) }).optional(),
  customer: P.nonEmptyText(255).optional(),
  transfer_group: S.connectRefusal('transfer_group').optional(),
  expand: S.expandFor('charge').optional(),
});
export const updateRefundSchema = z.strictObject({ metadata: P.metadata().optional(), expand: S.expandFor('refund').optional() });

export const attachSchema = z.strictObject({ customer: P.nonEmptyText(255), expand: S.expandFor('payment_method').optional() });
export const deleteCustomerSchema = z.strictObject({ expand: S.expandFor('customer').optional() });
export const detachSchema = z.strictObject({ expand: S.expandFor('payment_method').optional() });

const listOf = (type: ObjectType) => z.strictObject({ ...P.listParams, expand: S.expandListOf(type).optional() });
export const intentListSchema = listOf('payment_intent').extend({ customer: P.text(255).optional() });
export const chargeListSchema = listOf('charge').extend({ customer: P.text(255).optional(), payment_intent: P.text(255).optional() });
export const refundListSchema = listOf('refund').extend({ charge: P.text(255).optional(), payment_intent: P.text(255).optional() });
export const customerListSchema = listOf('customer').extend({ email: P.text(512).optional(), test_clock: P.text(255).optional() });
export const customerPaymentMethodListSchema = listOf('payment_method').extend({ type: P.oneOf(['card'] as const).optional() });
export const paymentMethodListSchema = listOf('payment_method').extend({ customer: P.text(255), type: P.oneOf(['card'] as const).optional() });
const retrieveOf = (type: ObjectType) => z.strictObject({ expand: S.expandFor(type).optional(), client_secret: P.text(255).optional() });
export const retrieveIntentSchema = retrieveOf('payment_intent');
export const retrieveChargeSchema = retrieveOf('charge');
export const retrieveRefundSchema = retrieveOf('refund');
export const retrieveCustomerSchema = retrieveOf('customer');
export const retrievePaymentMethodSchema = retrieveOf('payment_method');

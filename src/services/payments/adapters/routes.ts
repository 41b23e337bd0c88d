import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { listOf, pageOf, pathId as id, routeKit } from '../../../platform/http/routes.js';
import * as Intents from '../app/intents.js';
import * as Charges from '../app/charges.js';
import * as Customers from '../app/customers.js';
import * as PaymentMethods from '../app/payment-methods.js';
import type { PaymentsDeps } from '../app/deps.js';
import { applyExpand } from './expand.js';
import { REFUND_COMMAND } from './commands.js';

/** The payments service's HTTP surface: PaymentIntents, charges, refunds, customers, PaymentMethods. */
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

const createIntentSchema = z.strictObject({
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

const updateIntentSchema = z.strictObject({
  amount: P.amount().optional(),
  currency: P.currency().optional(),
  capture_method: P.oneOf(CAPTURE_METHODS).optional(),
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  ...intentFields,
});

const confirmSchema = z.strictObject({
  payment_method: P.nonEmptyText(255).optional(),
  return_url: P.text(2048).optional(),
  receipt_email: P.clearableText(800).optional(),
  setup_future_usage: P.oneOf(['off_session', 'on_session'] as const).optional(),
  expand: P.expand().optional(),
});
const captureSchema = z.strictObject({ amount_to_capture: P.amount().optional(), expand: P.expand().optional(), metadata: P.metadata().optional() });
const cancelSchema = z.strictObject({ cancellation_reason: P.oneOf(CANCELLATION_REASONS).optional(), expand: P.expand().optional() });
const authenticateSchema = z.strictObject({ outcome: P.oneOf(['succeeded', 'failed'] as const).optional(), client_secret: P.text(255).optional() });

const customerSchema = z.strictObject({
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
  address: z.strictObject({
    city: P.text(200).optional(),
    country: P.text(200).optional(),
    line1: P.text(200).optional(),
    line2: P.text(200).optional(),
    postal_code: P.text(200).optional(),
    state: P.text(200).optional(),
  }).optional(),
});
const createPaymentMethodSchema = z.strictObject({
  type: P.oneOf(['card'] as const),
  card: cardSchema,
  billing_details: billingSchema.optional(),
  metadata: P.metadata().optional(),
  expand: P.expand().optional(),
});
const attachSchema = z.strictObject({ customer: P.nonEmptyText(255), expand: P.expand().optional() });
const emptySchema = z.strictObject({ expand: P.expand().optional() });

const listBase = z.strictObject(P.listParams);
const intentListSchema = listBase.extend({ customer: P.text(255).optional() });
const chargeListSchema = listBase.extend({ customer: P.text(255).optional(), payment_intent: P.text(255).optional() });
const refundListSchema = listBase.extend({ charge: P.text(255).optional(), payment_intent: P.text(255).optional() });
const customerListSchema = listBase.extend({ email: P.text(512).optional() });
const pmListSchema = listBase.extend({ customer: P.text(255), type: P.oneOf(['card'] as const).optional() });
const retrieveSchema = z.strictObject({ expand: P.expand().optional(), client_secret: P.text(255).optional() });

export interface PaymentsRouteDeps {
  payments: PaymentsDeps;
  write: WriteDeps;
}

/** A Fastify plugin: the gateway registers it; every POST runs through the write pipeline. */
export function paymentsRoutes(deps: PaymentsRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const payments = deps.payments;
    const { post, get } = routeKit(app, deps.write, (merchant_id, body, fields) => applyExpand(payments, merchant_id, body, fields));
    const page = pageOf;
    const list = listOf;

    // PaymentIntents
    post('/v1/payment_intents', createIntentSchema, ['payment_intent', 'charge'], (ctx, p) => Intents.createIntent(payments, ctx, p));
    post('/v1/payment_intents/:id', updateIntentSchema, [], (ctx, p, r) => Intents.updateIntentParams(payments, ctx, id(r), p));
    post('/v1/payment_intents/:id/confirm', confirmSchema, ['charge'], (ctx, p, r) => Intents.confirmIntent(payments, ctx, id(r), p));
    post('/v1/payment_intents/:id/capture', captureSchema, [], (ctx, p, r) => Intents.captureIntent(payments, ctx, id(r), p));
    post('/v1/payment_intents/:id/cancel', cancelSchema, [], (ctx, p, r) => Intents.cancelIntent(payments, ctx, id(r), p));
    post('/v1/test_helpers/payment_intents/:id/authenticate', authenticateSchema, [], (ctx, p, r) => Intents.authenticateIntent(payments, ctx, id(r), p.outcome !== 'failed'));
    get('/v1/payment_intents/:id', retrieveSchema, (m, _q, r) => Intents.retrieveIntent(payments, m, id(r)));
    get('/v1/payment_intents', intentListSchema, async (m, q) => list('/v1/payment_intents', await Intents.listIntents(payments, m, page(q), q.customer)));

    // Charges and refunds
    get('/v1/charges/:id', retrieveSchema, (m, _q, r) => Charges.retrieveCharge(payments, m, id(r)));
    get('/v1/charges', chargeListSchema, async (m, q) => list('/v1/charges', await Charges.listCharges(payments, m, page(q), q)));
    post(REFUND_COMMAND.path, REFUND_COMMAND.schema, REFUND_COMMAND.reserves, (ctx, p) => REFUND_COMMAND.run(payments, ctx, p));
    get('/v1/refunds/:id', retrieveSchema, (m, _q, r) => Charges.retrieveRefund(payments, m, id(r)));
    get('/v1/refunds', refundListSchema, async (m, q) => list('/v1/refunds', await Charges.listRefunds(payments, m, page(q), q)));

    // Customers
    post('/v1/customers', customerSchema, ['customer'], (ctx, p) => Customers.createCustomer(ctx, p));
    post('/v1/customers/:id', customerSchema, [], (ctx, p, r) => Customers.updateCustomerParams(ctx, id(r), p));
    post('/v1/customers/:id', emptySchema, [], (ctx, _p, r) => Customers.deleteCustomer(ctx, id(r)), 'DELETE');
    get('/v1/customers/:id', retrieveSchema, (m, _q, r) => Customers.retrieveCustomer(payments, m, id(r)));
    get('/v1/customers', customerListSchema, async (m, q) => list('/v1/customers', await Customers.listCustomers(payments, m, page(q), q.email)));
    get('/v1/customers/:id/payment_methods', listBase.extend({ type: P.oneOf(['card'] as const).optional() }), async (m, q, r) =>
      list(`/v1/customers/${id(r)}/payment_methods`, await PaymentMethods.listPaymentMethods(payments, m, id(r), q)));

    // PaymentMethods (card data enters only here, and goes straight to the vault)
    post('/v1/payment_methods', createPaymentMethodSchema, ['payment_method'], (ctx, p) => PaymentMethods.createPaymentMethod(payments, ctx, p));
    get('/v1/payment_methods/:id', retrieveSchema, (m, _q, r) => PaymentMethods.retrievePaymentMethod(payments, m, id(r)));
    get('/v1/payment_methods', pmListSchema, async (m, q) => list('/v1/payment_methods', await PaymentMethods.listPaymentMethods(payments, m, q.customer, q, 'customer')));
    post('/v1/payment_methods/:id/attach', attachSchema, ['payment_method'], (ctx, p, r) => PaymentMethods.attachPaymentMethod(payments, ctx, id(r), p.customer));
    post('/v1/payment_methods/:id/detach', emptySchema, [], (ctx, _p, r) => PaymentMethods.detachPaymentMethod(payments, ctx, id(r)));
  };
}

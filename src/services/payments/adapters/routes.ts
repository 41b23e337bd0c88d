import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Page } from '../../platform/pagination.js';
import { PayrailError } from '../../kernel/errors.js';
import * as Intents from '../payments/app/intents.js';
import * as Charges from '../payments/app/charges.js';
import * as Customers from '../payments/app/customers.js';
import * as PaymentMethods from '../payments/app/payment-methods.js';
import type { IdKind } from '../../kernel/ids.js';
import { listEvents, retrieveEvent } from '../events/queries.js';
import { registerWebhookRoutes } from '../events/webhooks/routes.js';
import type { GatewayDeps } from './app.js';
import { applyExpand } from './expand.js';
import type { MutationHandler } from '../../platform/http/mutation.js';
import { mutation } from '../../platform/http/mutation.js';
import * as P from '../../platform/http/params.js';
import { merchantOf } from '../../platform/http/request-context.js';

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

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

const refundSchema = z.strictObject({
  charge: P.nonEmptyText(255).optional(),
  payment_intent: P.nonEmptyText(255).optional(),
  amount: P.amount().optional(),
  reason: P.oneOf(REFUND_REASONS).optional(),
  metadata: P.metadata().optional(),
  expand: P.expand().optional(),
});

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
const EVENT_TYPES_MAX = 20;
const eventListSchema = listBase.extend({ type: P.text(100).optional(), types: P.textList(100, EVENT_TYPES_MAX).optional() });
const pmListSchema = listBase.extend({ customer: P.text(255), type: P.oneOf(['card'] as const).optional() });
const retrieveSchema = z.strictObject({ expand: P.expand().optional(), client_secret: P.text(255).optional() });

type Params = { id: string };

export function registerRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const payments = deps.payments;
  const mutationDeps = {
    write: deps.write,
    expand: (merchant_id: string, body: Record<string, unknown>, fields: readonly string[]) => applyExpand(payments, merchant_id, body, fields),
  };
  /** `reserves`: the kinds of object the use case creates, whose ids a retry must reuse. */
  const post = <S extends z.ZodType>(path: string, schema: S, reserves: readonly IdKind[], handler: MutationHandler<z.output<S>>, method: 'POST' | 'DELETE' = 'POST') => {
    const run = mutation(mutationDeps, schema, reserves, handler);
    app.route({ method, url: path, handler: async (request, reply) => { await run(request, reply); return reply; } });
  };
  const get = <S extends z.ZodType>(path: string, schema: S, handler: (merchant_id: string, query: z.output<S>, request: FastifyRequest) => Promise<Record<string, unknown>>) => {
    app.get(path, async (request) => {
      const query = P.parseParams(schema, request.query);
      const merchant_id = merchantOf(request);
      const body = await handler(merchant_id, query, request);
      return applyExpand(payments, merchant_id, body, (query as { expand?: string[] }).expand);
    });
  };
  const id = (request: FastifyRequest) => {
    const value = (request.params as Params).id;
    if (!P.isStorableText(value)) throw new PayrailError('resource_missing', { message: 'No such object: the id contains characters no id has.' });
    return value;
  };
  const list = (url: string, page: Page<Record<string, unknown>>) => ({ object: 'list', data: page.data, has_more: page.has_more, url });

  // PaymentIntents
  post('/v1/payment_intents', createIntentSchema, ['payment_intent', 'charge'], (ctx, p) => Intents.createIntent(payments, ctx, p));
  post('/v1/payment_intents/:id', updateIntentSchema, [], (ctx, p, r) => Intents.updateIntentParams(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/confirm', confirmSchema, ['charge'], (ctx, p, r) => Intents.confirmIntent(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/capture', captureSchema, [], (ctx, p, r) => Intents.captureIntent(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/cancel', cancelSchema, [], (ctx, p, r) => Intents.cancelIntent(payments, ctx, id(r), p));
  post('/v1/test_helpers/payment_intents/:id/authenticate', authenticateSchema, [], (ctx, p, r) => Intents.authenticateIntent(payments, ctx, id(r), p.outcome !== 'failed'));
  get('/v1/payment_intents/:id', retrieveSchema, (m, _q, r) => Intents.retrieveIntent(payments, m, id(r)));
  get('/v1/payment_intents', intentListSchema, async (m, q) => list('/v1/payment_intents', await Intents.listIntents(payments, m, page(q), q.customer)));

  // Charges
  get('/v1/charges/:id', retrieveSchema, (m, _q, r) => Charges.retrieveCharge(payments, m, id(r)));
  get('/v1/charges', chargeListSchema, async (m, q) => list('/v1/charges', await Charges.listCharges(payments, m, page(q), q)));

  // Refunds
  post('/v1/refunds', refundSchema, ['refund'], (ctx, p) => Charges.createRefund(payments, ctx, p));
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

  // Events
  get('/v1/events/:id', retrieveSchema, (m, _q, r) => retrieveEvent(deps.write.reader, m, id(r)));
  get('/v1/events', eventListSchema, async (m, q) => list('/v1/events', await listEvents(deps.write.reader, m, page(q), q.types ?? (q.type ? [q.type] : []))));

  // Webhook endpoints (events service); their signing secrets are sealed under a key derived from this one.
  registerWebhookRoutes(app, mutationDeps, deps.idempotency_hash_key);
}

function page(query: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined; created?: unknown }) {
  return { limit: query.limit, starting_after: query.starting_after, ending_before: query.ending_before, created: P.parseCreatedFilter(query.created) };
}

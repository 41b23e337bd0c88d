import type { FastifyInstance } from 'fastify';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { RouteKit } from '../../../platform/http/routes.js';
import { listOf as list, pageOf as page, pathId as id, pathParam, routeKit } from '../../../platform/http/routes.js';
import * as Intents from '../app/intents.js';
import * as Charges from '../app/charges.js';
import * as Customers from '../app/customers.js';
import * as PaymentMethods from '../app/payment-methods.js';
import type { PaymentsDeps } from '../app/deps.js';
import { applyExpand } from './expand.js';
import { registerLegacyShapes } from './legacy-versions.js';
import { REFUND_COMMAND } from './commands.js';
import * as S from './route-schemas.js';
import { registerSearchRoutes } from './search-routes.js';
import * as C from './customer-schemas.js';
import * as Updates from '../app/object-updates.js';
import { registerSetupIntentRoutes } from './setup-routes.js';
import { registerTokenAndLegacyChargeRoutes } from './legacy-routes.js';
import { registerReviewRoutes } from './review-routes.js';

/** The payments service's HTTP surface: PaymentIntents, charges, refunds, customers, PaymentMethods. */

export interface PaymentsRouteDeps {
  payments: PaymentsDeps;
  write: WriteDeps;
}

/** A Fastify plugin: the gateway registers it; every POST runs through the write pipeline. */
export function paymentsRoutes(deps: PaymentsRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const payments = deps.payments;
    registerLegacyShapes(app, payments);
    const kit = routeKit(app, deps.write, (merchant_id, body, fields) => applyExpand(payments, merchant_id, body, fields));
    registerIntentRoutes(kit, payments);
    registerChargeAndRefundRoutes(kit, payments);
    registerCustomerRoutes(kit, payments);
    registerPaymentMethodRoutes(kit, payments);
    registerSearchRoutes(kit, payments);
    registerSetupIntentRoutes(kit, payments);
    registerTokenAndLegacyChargeRoutes(kit, payments);
    registerReviewRoutes(kit, payments);
  };
}

function registerIntentRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  // `payment_method` is reserved for the one `payment_method_data` creates, so a retry finds it.
  post('/v1/payment_intents', S.createIntentSchema, ['payment_intent', 'charge', 'payment_method'], (ctx, p) => Intents.createIntent(payments, ctx, p));
  post('/v1/payment_intents/:id', S.updateIntentSchema, ['payment_method'], (ctx, p, r) => Intents.updateIntentParams(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/confirm', S.confirmSchema, ['charge', 'payment_method'], (ctx, p, r) => Intents.confirmIntent(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/increment_authorization', S.incrementAuthorizationSchema, [], (ctx, _p, r) =>
    Intents.incrementAuthorization(payments, ctx.merchant_id, id(r)),
  );
  post('/v1/payment_intents/:id/capture', S.captureSchema, [], (ctx, p, r) => Intents.captureIntent(payments, ctx, id(r), p));
  post('/v1/payment_intents/:id/cancel', S.cancelSchema, [], (ctx, p, r) => Intents.cancelIntent(payments, ctx, id(r), p));
  post('/v1/test_helpers/payment_intents/:id/authenticate', S.authenticateSchema, [], (ctx, p, r) =>
    Intents.authenticateIntent(payments, ctx, id(r), p.outcome !== 'failed', p.client_secret),
  );
  get('/v1/payment_intents/:id', S.retrieveIntentSchema, (m, _q, r) => Intents.retrieveIntent(payments, m, id(r)));
  get('/v1/payment_intents', S.intentListSchema, async (m, q) => list('/v1/payment_intents', await Intents.listIntents(payments, m, page(q), q.customer)));
}

function registerChargeAndRefundRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  get('/v1/charges/:id', S.retrieveChargeSchema, (m, _q, r) => Charges.retrieveCharge(payments, m, id(r)));
  post('/v1/charges/:id', S.updateChargeSchema, [], (ctx, p, r) => Updates.updateChargeParams(ctx, id(r), p));
  post('/v1/refunds/:id', S.updateRefundSchema, [], (ctx, p, r) => Updates.updateRefundParams(ctx, id(r), p));
  get('/v1/charges', S.chargeListSchema, async (m, q) => list('/v1/charges', await Charges.listCharges(payments, m, page(q), q)));
  post(REFUND_COMMAND.path, REFUND_COMMAND.schema, REFUND_COMMAND.reserves, (ctx, p) => REFUND_COMMAND.run(payments, ctx, p));
  get('/v1/refunds/:id', S.retrieveRefundSchema, (m, _q, r) => Charges.retrieveRefund(payments, m, id(r)));
  get('/v1/refunds', S.refundListSchema, async (m, q) => list('/v1/refunds', await Charges.listRefunds(payments, m, page(q), q)));
}

function registerCustomerRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  post('/v1/customers', C.createCustomerSchema, ['customer', 'payment_method'], (ctx, p) => Customers.createCustomer(payments, ctx, p));
  post('/v1/customers/:id', C.updateCustomerSchema, [], (ctx, p, r) => Customers.updateCustomerParams(payments, ctx, id(r), p));
  post('/v1/customers/:id', S.deleteCustomerSchema, [], (ctx, _p, r) => Customers.deleteCustomer(ctx, id(r)), 'DELETE');
  get('/v1/customers/:id', S.retrieveCustomerSchema, (m, _q, r) => Customers.retrieveCustomer(payments, m, id(r)));
  get('/v1/customers', S.customerListSchema, async (m, q) =>
    list('/v1/customers', await Customers.listCustomers(payments, m, page(q), { email: q.email, test_clock: q.test_clock })),
  );
  get('/v1/customers/:id/payment_methods', S.customerPaymentMethodListSchema, async (m, q, r) =>
    list(`/v1/customers/${id(r)}/payment_methods`, await PaymentMethods.listPaymentMethods(payments, m, id(r), q)),
  );
  get('/v1/customers/:id/payment_methods/:payment_method', S.retrievePaymentMethodSchema, (m, _q, r) =>
    PaymentMethods.retrieveCustomerPaymentMethod(payments, m, id(r), pathParam(r, 'payment_method')),
  );
}

/** Card data enters only here, and goes straight to the vault. */
function registerPaymentMethodRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  post('/v1/payment_methods/:id', C.updatePaymentMethodSchema, [], (ctx, p, r) => PaymentMethods.updatePaymentMethod(payments, ctx, id(r), p));
  post('/v1/payment_methods', C.createPaymentMethodSchema, ['payment_method'], (ctx, p) => PaymentMethods.createPaymentMethod(payments, ctx, p));
  get('/v1/payment_methods/:id', S.retrievePaymentMethodSchema, (m, _q, r) => PaymentMethods.retrievePaymentMethod(payments, m, id(r)));
  get('/v1/payment_methods', S.paymentMethodListSchema, async (m, q) =>
    list('/v1/payment_methods', await PaymentMethods.listPaymentMethods(payments, m, q.customer, q, 'customer')),
  );
  post('/v1/payment_methods/:id/attach', S.attachSchema, ['payment_method'], (ctx, p, r) =>
    PaymentMethods.attachPaymentMethod(payments, ctx, id(r), p.customer),
  );
  post('/v1/payment_methods/:id/detach', S.detachSchema, [], (ctx, _p, r) => PaymentMethods.detachPaymentMethod(payments, ctx, id(r)));
}

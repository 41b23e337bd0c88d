import { z } from 'zod';
import * as P from '../../../platform/http/params.js';
import * as S from './param-shapes.js';
import type { RouteKit } from '../../../platform/http/routes.js';
import { listOf as list, pageOf as page, pathId as id } from '../../../platform/http/routes.js';
import * as Setup from '../app/setup-intents.js';
import type { PaymentsDeps } from '../app/deps.js';

/** SetupIntents' parameters, as Stripe documents them (strict: an unknown one is a 400 naming it), and their routes. */

/** Card is the one payment method type Payrail processes; any other is refused, never ignored. */
const paymentMethodTypes = () =>
  P.textList(64, 20).transform((types, ctx) => {
    const unsupported = types.findIndex((type) => type !== 'card');
    if (unsupported < 0) return [...new Set(types)];
    ctx.addIssue({
      code: 'custom',
      message: `The payment method type at index ${unsupported} is invalid or not supported: Payrail processes card.`,
      params: { stripe_code: 'parameter_invalid' },
    });
    return z.NEVER;
  });

const automaticPaymentMethods = z.strictObject({
  enabled: P.boolean(),
  allow_redirects: P.oneOf(['always', 'never'] as const).optional(),
});

/** `payment_method_options[card]`: Payrail's processors decide when 3-D Secure is needed, as `automatic` asks. */
const setupMethodOptions = z.strictObject({
  card: z
    .strictObject({
      request_three_d_secure: P.oneOf(['automatic'] as const).optional(),
      mandate_options: S.unsupported('payment_method_options[card][mandate_options]', 'Card mandates are not supported.').optional(),
      network: S.unsupported('payment_method_options[card][network]', 'Payrail routes each card on its own network.').optional(),
    })
    .optional(),
});

/** Stripe's other SetupIntent parameters: the ones Payrail does not support are refused with the reason, never ignored. */
const otherSetupParams = {
  payment_method_options: setupMethodOptions.optional(),
  // Accepted as Stripe.js sends it; the 3-D Secure step is always answered as redirect_to_url.
  use_stripe_sdk: P.boolean().optional(),
  mandate_data: S.mandateRefusal('mandate_data').optional(),
  single_use: S.unsupported('single_use', 'Single-use mandates are not supported.').optional(),
  attach_to_self: S.unsupported('attach_to_self', 'Saving a card to the platform itself is not supported.').optional(),
  flow_directions: S.unsupported('flow_directions', 'Only inbound card payments are supported.').optional(),
  on_behalf_of: S.connectRefusal('on_behalf_of').optional(),
};

export const createSetupSchema = z.strictObject({
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  payment_method_data: S.paymentMethodData().optional(),
  payment_method_types: paymentMethodTypes().optional(),
  automatic_payment_methods: automaticPaymentMethods.optional(),
  usage: P.oneOf(['on_session', 'off_session'] as const).optional(),
  confirm: P.boolean().optional(),
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  return_url: P.text(2048).optional(),
  expand: S.expandFor('setup_intent').optional(),
  ...otherSetupParams,
});

export const updateSetupSchema = z.strictObject({
  customer: P.nonEmptyText(255).optional(),
  payment_method: P.nonEmptyText(255).optional(),
  payment_method_types: paymentMethodTypes().optional(),
  description: P.clearableText(1000).optional(),
  metadata: P.metadata().optional(),
  expand: S.expandFor('setup_intent').optional(),
});

export const confirmSetupSchema = z.strictObject({
  payment_method: P.nonEmptyText(255).optional(),
  payment_method_data: S.paymentMethodData().optional(),
  return_url: P.text(2048).optional(),
  client_secret: P.text(255).optional(),
  expand: S.expandFor('setup_intent').optional(),
  payment_method_options: otherSetupParams.payment_method_options,
  use_stripe_sdk: otherSetupParams.use_stripe_sdk,
  mandate_data: otherSetupParams.mandate_data,
});

const cancelSetupSchema = z.strictObject({
  cancellation_reason: P.oneOf(['abandoned', 'duplicate', 'requested_by_customer'] as const).optional(),
  expand: S.expandFor('setup_intent').optional(),
});
const authenticateSetupSchema = z.strictObject({ outcome: P.oneOf(['succeeded', 'failed'] as const).optional(), client_secret: P.text(255).optional() });
const retrieveSetupSchema = z.strictObject({ expand: S.expandFor('setup_intent').optional(), client_secret: P.text(255).optional() });
const listSetupSchema = z.strictObject({
  ...P.listParams,
  expand: S.expandListOf('setup_intent').optional(),
  customer: P.text(255).optional(),
  payment_method: P.text(255).optional(),
});

const listAttemptsSchema = z.strictObject({
  ...P.listParams,
  setup_intent: P.nonEmptyText(255),
  expand: S.expandListOf('setup_attempt').optional(),
});

/** A verification reserves its SetupIntent, its attempt (the id the processor knows) and the card it may save. */
const CONFIRM_RESERVES = ['setup_attempt', 'payment_method'] as const;

export function registerSetupIntentRoutes({ post, get }: RouteKit, payments: PaymentsDeps): void {
  post('/v1/setup_intents', createSetupSchema, ['setup_intent', ...CONFIRM_RESERVES], (ctx, p) => Setup.createSetupIntent(payments, ctx, p));
  post('/v1/setup_intents/:id', updateSetupSchema, [], (ctx, p, r) => Setup.updateSetupIntentParams(payments, ctx, id(r), p));
  post('/v1/setup_intents/:id/confirm', confirmSetupSchema, CONFIRM_RESERVES, (ctx, p, r) => Setup.confirmSetupIntent(payments, ctx, id(r), p));
  post('/v1/setup_intents/:id/cancel', cancelSetupSchema, [], (ctx, p, r) => Setup.cancelSetupIntent(ctx, id(r), p.cancellation_reason));
  post('/v1/test_helpers/setup_intents/:id/authenticate', authenticateSetupSchema, ['payment_method'], (ctx, p, r) =>
    Setup.authenticateSetupIntent(payments, ctx, id(r), p.outcome !== 'failed', p.client_secret),
  );
  get('/v1/setup_intents/:id', retrieveSetupSchema, (m, q, r) => Setup.retrieveSetupIntent(payments, m, id(r), q.client_secret));
  get('/v1/setup_attempts', listAttemptsSchema, async (m, q) =>
    list('/v1/setup_attempts', await Setup.listSetupAttempts(payments, m, page(q), q.setup_intent)),
  );
  get('/v1/setup_intents', listSetupSchema, async (m, q) => list('/v1/setup_intents', await Setup.listSetupIntents(payments, m, page(q), q)));
}

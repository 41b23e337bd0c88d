/**
 * How a merchant's `stripe` connector account is configured: its secret key (a restricted key with
 * PaymentIntents, SetupIntents and Refunds write access is enough), the API's base URL (Stripe's, or
 * another server speaking its API) and the webhook endpoint's signing secret. Both secrets are shown
 * back only as their last four characters.
 */
import { z } from 'zod';
import type { ConnectorFactory } from '../app/connector-factory.js';
import { StripeConnector } from './stripe-connector.js';

const stripeCredentials = z.strictObject({
  secret_key: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_-]{8,247}$/, 'a Stripe secret or restricted key: sk_… or rk_…'),
  base_url: z
    .url({ protocol: /^https?$/ })
    .max(2_048)
    .default('https://api.stripe.com'),
  webhook_secret: z.string().regex(/^whsec_[A-Za-z0-9_-]{8,249}$/, "a webhook endpoint's signing secret: whsec_…"),
});

export type StripeCredentials = z.infer<typeof stripeCredentials>;

export const stripeFactory: ConnectorFactory<StripeCredentials> = {
  credentials: stripeCredentials,
  secret_fields: ['secret_key', 'webhook_secret'],
  create: (credentials, ctx) => new StripeConnector({ ...credentials, clock: ctx.clock, timeout_ms: ctx.fetch_timeout_ms }),
};

import type { Access, Permissions } from './api-keys.js';

/**
 * What a route needs from a restricted or publishable key. Resources are named as on Stripe's
 * dashboard (the first path segment of their API: `payment_intents`, `charges`, …); a GET reads, any
 * other method writes, and write includes read, as Stripe's `rak_…_write` does.
 */

/** The resources a restricted key may name (those Payrail serves, and Stripe's common ones it may serve next). */
export const RESOURCES = [
  'accounts',
  'application_fees',
  'balance',
  'balance_transactions',
  'charges',
  'checkout_sessions',
  'customers',
  'disputes',
  'events',
  'invoices',
  'payment_intents',
  'payment_methods',
  'payouts',
  'prices',
  'products',
  'radar_early_fraud_warnings',
  'radar_value_list_items',
  'radar_value_lists',
  'refunds',
  'reviews',
  'setup_intents',
  'subscriptions',
  'test_clocks',
  'tokens',
  'transfers',
  'webhook_endpoints',
] as const;

/** Stripe's permission names (`rak_<name>_<access>`) where they differ from the resource's singular. */
const STRIPE_PERMISSION_NAMES: Record<string, string> = {
  balance_transactions: 'balance_transaction_source',
  webhook_endpoints: 'webhook',
};

export interface RequiredPermission {
  resource: string;
  access: Access;
}

/** Routes whose resource is not their first segment: a customer's payment methods are payment methods. */
const NESTED_RESOURCES: readonly (readonly [prefix: string, resource: string])[] = [
  ['/v1/customers/:id/payment_methods', 'payment_methods'],
  // A SetupIntent's attempts are read with the SetupIntent's permission, as on Stripe.
  ['/v1/setup_attempts', 'setup_intents'],
  // The account itself (`GET /v1/account`) and its bank accounts are the account's, as Stripe's `rak_account_…`.
  ['/v1/account', 'accounts'],
  // Invoice items and subscription items come with their parents' permissions, as on Stripe's dashboard.
  ['/v1/invoiceitems', 'invoices'],
  ['/v1/subscription_items', 'subscriptions'],
];
/** Resources under a namespace segment, named as Stripe's dashboard names them (`/v1/checkout/sessions` is `checkout_sessions`, `/v1/radar/value_lists` `radar_value_lists`). */
const NAMESPACES: ReadonlySet<string> = new Set(['checkout', 'radar']);

/** The permission a request to `route` (Fastify's matched URL, e.g. `/v1/charges/:id`) needs. */
export function requiredPermission(method: string, route: string): RequiredPermission {
  const segments = route.split('/').filter((segment) => segment !== '');
  // `/v1/test_helpers/payment_intents/:id/authenticate` acts on payment intents.
  const [first = 'unknown', second] = segments[1] === 'test_helpers' ? segments.slice(2) : segments.slice(1);
  const nested = NESTED_RESOURCES.find(([prefix]) => route === prefix || route.startsWith(`${prefix}/`));
  const resource = nested?.[1] ?? (NAMESPACES.has(first) && second ? `${first}_${second}` : first);
  return { resource, access: method === 'GET' || method === 'HEAD' ? 'read' : 'write' };
}

export function allows(permissions: Permissions, required: RequiredPermission): boolean {
  const granted = permissions[required.resource];
  return granted === 'write' || (granted === 'read' && required.access === 'read');
}

/**
 * Fields whose expansion loads another resource's object (`expand[]=payment_intent` on a charge):
 * a restricted key needs read on that resource too, as on Stripe, or expanding would read around
 * its permissions. Other segments (`data`, `invoice_settings`, `last_payment_error`) load nothing.
 */
const EXPANDED_RESOURCES: Readonly<Record<string, string>> = {
  customer: 'customers',
  payment_intent: 'payment_intents',
  charge: 'charges',
  latest_charge: 'charges',
  charges: 'charges',
  refunds: 'refunds',
  payment_method: 'payment_methods',
  default_payment_method: 'payment_methods',
  balance_transaction: 'balance_transactions',
  setup_intent: 'setup_intents',
  latest_attempt: 'setup_intents',
  review: 'reviews',
};

/** The read permissions the `expand[]` paths of a request need, each resource once. */
export function expansionPermissions(paths: readonly string[]): RequiredPermission[] {
  const resources = new Set(paths.flatMap((path) => path.split('.').flatMap((segment) => EXPANDED_RESOURCES[segment] ?? [])));
  return [...resources].map((resource) => ({ resource, access: 'read' }));
}

/** `rak_charge_write`: the name Stripe's 403 gives the missing permission. */
export function stripePermissionName(required: RequiredPermission): string {
  const singular = STRIPE_PERMISSION_NAMES[required.resource] ?? required.resource.replace(/ies$/, 'y').replace(/s$/, '');
  return `rak_${singular}_${required.access}`;
}

export function isResource(name: string): boolean {
  return (RESOURCES as readonly string[]).includes(name);
}

/**
 * What a publishable key may call, as Stripe's: create payment methods and tokens, and retrieve or
 * confirm an intent only with its `client_secret` (the route's owner checks that the secret matches,
 * through the gateway's client-secret hook).
 */
export type PublishableRule = 'allowed' | 'client_secret';

const PUBLISHABLE_ROUTES: Record<string, PublishableRule> = {
  'POST /v1/payment_methods': 'allowed',
  'POST /v1/tokens': 'allowed',
  'GET /v1/payment_intents/:id': 'client_secret',
  'POST /v1/payment_intents/:id/confirm': 'client_secret',
  'GET /v1/setup_intents/:id': 'client_secret',
  'POST /v1/setup_intents/:id/confirm': 'client_secret',
  // The test-mode 3-D Secure challenge Payrail.js shows the customer (Stripe's own page does this in live mode).
  'POST /v1/test_helpers/payment_intents/:id/authenticate': 'client_secret',
  'POST /v1/test_helpers/setup_intents/:id/authenticate': 'client_secret',
};

export function publishableRule(method: string, route: string): PublishableRule | undefined {
  return PUBLISHABLE_ROUTES[`${method} ${route}`];
}

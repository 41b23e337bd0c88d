/**
 * What a publishable key sees of an intent it reached with the intent's `client_secret`. Both travel
 * in the customer's browser, so Stripe answers them with a subset of the object: its status and what
 * Stripe.js needs to finish a payment, never the customer, metadata or charges. These are the fields
 * Stripe's object reference marks "retrievable with publishable key" (API 2023-08-16).
 */
const PUBLISHABLE_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  payment_intent: new Set([
    'id',
    'object',
    'amount',
    'automatic_payment_methods',
    'canceled_at',
    'cancellation_reason',
    'capture_method',
    'client_secret',
    'confirmation_method',
    'created',
    'currency',
    'description',
    'last_payment_error',
    'livemode',
    'next_action',
    'payment_method',
    'payment_method_types',
    'processing',
    'receipt_email',
    'setup_future_usage',
    'shipping',
    'status',
  ]),
  setup_intent: new Set([
    'id',
    'object',
    'automatic_payment_methods',
    'cancellation_reason',
    'client_secret',
    'created',
    'description',
    'last_setup_error',
    'livemode',
    'next_action',
    'payment_method',
    'payment_method_types',
    'status',
    'usage',
  ]),
};

/** The body an answer to a publishable key may carry: intents cut to their publishable fields, anything else (errors included) as it is. */
export function publishableView(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const fields = PUBLISHABLE_FIELDS[String((body as { object?: unknown }).object)];
  if (!fields) return body;
  return Object.fromEntries(Object.entries(body).filter(([name]) => fields.has(name)));
}

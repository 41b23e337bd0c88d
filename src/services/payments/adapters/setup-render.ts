import type { SetupError, SetupIntent } from '../domain/setup-intent.js';
import { renderPaymentMethod } from './render.js';

/** A SetupIntent as Stripe shows it, field by field: internal fields (merchant_id, version) never leave. */
export function renderSetupIntent(intent: SetupIntent): { id: string } & Record<string, unknown> {
  return {
    id: intent.id,
    object: 'setup_intent',
    application: null,
    attach_to_self: false,
    automatic_payment_methods: intent.automatic_payment_methods,
    cancellation_reason: intent.cancellation_reason,
    client_secret: intent.client_secret,
    created: intent.created,
    customer: intent.customer,
    description: intent.description,
    flow_directions: null,
    last_setup_error: intent.last_setup_error ? renderSetupError(intent.last_setup_error) : null,
    latest_attempt: intent.latest_attempt,
    livemode: false,
    mandate: null,
    metadata: intent.metadata,
    next_action: intent.next_action,
    on_behalf_of: null,
    payment_method: intent.payment_method,
    payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: intent.payment_method_types,
    single_use_mandate: null,
    status: intent.status,
    usage: intent.usage,
  };
}

function renderSetupError(error: SetupError): Record<string, unknown> {
  return {
    type: error.type,
    code: error.code,
    // Stripe leaves out what an error does not have; the schema has no null for these.
    ...(error.decline_code !== null ? { decline_code: error.decline_code } : {}),
    doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll('_', '-')}`,
    message: error.message,
    ...(error.payment_method ? { payment_method: renderPaymentMethod(error.payment_method) } : {}),
  };
}

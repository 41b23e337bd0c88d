import type { SetupError, SetupIntent } from '../domain/setup-intent.js';
import type { SetupAttempt } from '../domain/setup-attempt.js';
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

/** A SetupAttempt as Stripe shows it: the card it verified and how 3-D Secure, if asked, ended. */
export function renderSetupAttempt(attempt: SetupAttempt): { id: string } & Record<string, unknown> {
  const { card } = attempt;
  return {
    id: attempt.id,
    object: 'setup_attempt',
    application: null,
    attach_to_self: false,
    created: attempt.created,
    customer: attempt.customer,
    flow_directions: null,
    livemode: false,
    on_behalf_of: null,
    payment_method: attempt.payment_method,
    payment_method_details: {
      type: 'card',
      card: {
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: card.cvc_check },
        country: card.country,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        fingerprint: card.fingerprint,
        funding: card.funding,
        last4: card.last4,
        network: card.brand,
        three_d_secure: attempt.three_d_secure
          ? { authentication_flow: 'challenge', result: attempt.three_d_secure.result, result_reason: null, version: '2.2.0' }
          : null,
        wallet: null,
      },
    },
    setup_error: attempt.setup_error ? renderSetupError(attempt.setup_error) : null,
    setup_intent: attempt.setup_intent,
    status: attempt.status,
    usage: attempt.usage,
  };
}

/**
 * The one registry of expected failures. Codes are Stripe's where Stripe has one; the gateway maps
 * each to Stripe's error shape and HTTP status in one place. `docs/errors.md` lists the same codes,
 * and a test keeps the two in sync.
 */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

interface ErrorSpec {
  type: StripeErrorType;
  status: number;
  message: string;
}

export const ERROR_CODES = {
  // Request shape
  parameter_unknown: { type: 'invalid_request_error', status: 400, message: 'Received unknown parameter.' },
  parameter_missing: { type: 'invalid_request_error', status: 400, message: 'Missing required param.' },
  parameter_invalid_integer: { type: 'invalid_request_error', status: 400, message: 'Invalid integer.' },
  parameter_invalid_empty: { type: 'invalid_request_error', status: 400, message: 'You passed an empty string, which is not allowed.' },
  parameter_invalid: { type: 'invalid_request_error', status: 400, message: 'Invalid value.' },
  parameters_exclusive: { type: 'invalid_request_error', status: 400, message: 'These parameters cannot be used together.' },
  body_invalid: { type: 'invalid_request_error', status: 400, message: 'The request body could not be parsed.' },
  body_too_large: { type: 'invalid_request_error', status: 413, message: 'The request body is too large.' },
  content_type_unsupported: { type: 'invalid_request_error', status: 415, message: 'Send application/x-www-form-urlencoded or application/json.' },
  url_invalid: { type: 'invalid_request_error', status: 404, message: 'Unrecognized request URL.' },
  request_timeout: { type: 'invalid_request_error', status: 408, message: 'The request did not arrive in time.' },
  currency_invalid: { type: 'invalid_request_error', status: 400, message: 'Invalid currency.' },
  amount_too_small: { type: 'invalid_request_error', status: 400, message: 'Amount must be at least the currency minimum.' },
  amount_too_large: { type: 'invalid_request_error', status: 400, message: 'Amount is too large.' },
  metadata_invalid: { type: 'invalid_request_error', status: 400, message: 'Invalid metadata.' },

  // Authentication and limits
  api_key_missing: { type: 'invalid_request_error', status: 401, message: 'You did not provide an API key.' },
  api_key_invalid: { type: 'invalid_request_error', status: 401, message: 'Invalid API Key provided.' },
  api_key_expired: { type: 'invalid_request_error', status: 401, message: 'Expired API Key provided.' },
  secret_key_required: { type: 'invalid_request_error', status: 401, message: 'This API call cannot be made with a publishable API key.' },
  permission_denied: { type: 'invalid_request_error', status: 403, message: 'The provided key does not have the required permissions for this endpoint.' },
  rate_limit: { type: 'invalid_request_error', status: 429, message: 'Too many requests hit the API too quickly.' },
  api_version_invalid: { type: 'invalid_request_error', status: 400, message: 'Invalid Stripe API version.' },
  api_version_unsupported: { type: 'invalid_request_error', status: 400, message: 'This Stripe API version is older than Payrail answers.' },
  account_invalid: { type: 'invalid_request_error', status: 403, message: 'The provided key does not have access to this account.' },
  // The dashboard's sign-in and roles (docs/dashboard.md).
  dashboard_session_required: { type: 'invalid_request_error', status: 401, message: 'Sign in to the dashboard first.' },
  dashboard_permission_denied: { type: 'invalid_request_error', status: 403, message: 'Your dashboard role does not allow this.' },
  dashboard_csrf_invalid: { type: 'invalid_request_error', status: 403, message: 'The request lacks the CSRF token of your dashboard session.' },
  dashboard_credentials_invalid: { type: 'invalid_request_error', status: 401, message: 'The email or password is incorrect.' },
  dashboard_totp_required: { type: 'invalid_request_error', status: 401, message: 'Enter the code from your authenticator app.' },
  dashboard_totp_invalid: { type: 'invalid_request_error', status: 401, message: 'The authenticator code is incorrect or expired.' },
  dashboard_invite_invalid: { type: 'invalid_request_error', status: 404, message: 'This invite does not exist, has expired or was already used.' },
  dashboard_last_owner: { type: 'invalid_request_error', status: 400, message: 'The last owner cannot be given another role.' },
  dashboard_oidc_unconfigured: { type: 'invalid_request_error', status: 404, message: 'Single sign-on is not configured for this dashboard.' },
  dashboard_oidc_failed: { type: 'invalid_request_error', status: 401, message: 'Single sign-on did not complete; start it again.' },

  // Objects and states
  resource_missing: { type: 'invalid_request_error', status: 404, message: 'No such object.' },
  resource_already_exists: { type: 'invalid_request_error', status: 400, message: 'An object with this value already exists.' },
  payment_intent_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The PaymentIntent is not in a state that allows this operation.' },
  payment_method_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The PaymentMethod is not in a state that allows this operation.' },
  setup_intent_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The SetupIntent is not in a state that allows this operation.' },
  checkout_session_unexpected_state: {
    type: 'invalid_request_error',
    status: 400,
    message: 'The Checkout Session is not in a state that allows this operation.',
  },
  review_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'This review has already been closed.' },
  dispute_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The dispute is not in a state that allows this operation.' },
  token_already_used: { type: 'invalid_request_error', status: 400, message: 'You cannot use a token more than once.' },
  payment_intent_action_required: { type: 'invalid_request_error', status: 400, message: 'The PaymentIntent requires authentication.' },
  charge_already_refunded: { type: 'invalid_request_error', status: 400, message: 'The charge has already been refunded.' },
  charge_disputed: { type: 'invalid_request_error', status: 400, message: 'The charge has been charged back; it cannot be refunded.' },
  charge_not_captured: { type: 'invalid_request_error', status: 400, message: 'The charge has not been captured.' },
  balance_insufficient: { type: 'invalid_request_error', status: 400, message: 'The available balance is too low for this payout.' },
  // Payrail's own: Stripe deletes live Custom and Express accounts only at zero balances; Payrail always (docs/connect.md).
  account_has_balance: { type: 'invalid_request_error', status: 400, message: 'The account cannot be deleted while its balances are not zero.' },
  lock_timeout: { type: 'invalid_request_error', status: 409, message: 'This object is being changed by another request; retry shortly.' },
  api_key_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The API key is not in a state that allows this operation.' },
  invoice_not_editable: { type: 'invalid_request_error', status: 400, message: 'Only draft invoices (and their items) can be changed or deleted.' },
  invoice_unexpected_state: { type: 'invalid_request_error', status: 400, message: 'The invoice is not in a state that allows this operation.' },
  invoice_upcoming_none: { type: 'invalid_request_error', status: 404, message: 'There is no upcoming invoice for this customer.' },
  invoice_no_customer_line_items: { type: 'invalid_request_error', status: 400, message: 'Nothing to invoice for this customer.' },
  webhook_endpoints_limit: { type: 'invalid_request_error', status: 400, message: 'This account has the most webhook endpoints allowed.' },
  webhook_endpoint_disabled: { type: 'invalid_request_error', status: 400, message: 'The webhook endpoint is disabled; enable it before resending to it.' },

  // Idempotency
  idempotency_key_in_use: {
    type: 'invalid_request_error',
    status: 409,
    message: 'Another request with this Idempotency-Key is in progress; retry after it completes.',
  },
  idempotency_error: {
    type: 'idempotency_error',
    status: 400,
    message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
  },
  idempotency_key_invalid: { type: 'invalid_request_error', status: 400, message: 'The Idempotency-Key must be 1 to 255 characters.' },

  // Card outcomes (vault validation and processor declines)
  incorrect_number: { type: 'card_error', status: 402, message: 'Your card number is incorrect.' },
  invalid_number: { type: 'card_error', status: 402, message: 'Your card number is not a valid credit card number.' },
  invalid_expiry_month: { type: 'card_error', status: 402, message: "Your card's expiration month is invalid." },
  invalid_expiry_year: { type: 'card_error', status: 402, message: "Your card's expiration year is invalid." },
  invalid_cvc: { type: 'card_error', status: 402, message: "Your card's security code is invalid." },
  card_declined: { type: 'card_error', status: 402, message: 'Your card was declined.' },
  expired_card: { type: 'card_error', status: 402, message: 'Your card has expired.' },
  incorrect_cvc: { type: 'card_error', status: 402, message: "Your card's security code is incorrect." },
  processing_error: { type: 'card_error', status: 402, message: 'An error occurred while processing your card. Try again in a little bit.' },
  authentication_required: { type: 'card_error', status: 402, message: 'Your card was declined. This transaction requires authentication.' },
  payment_blocked: { type: 'card_error', status: 402, message: 'The payment was blocked by risk rules.' },

  // Platform
  api_error: { type: 'api_error', status: 500, message: 'An internal error occurred.' },
  service_unavailable: { type: 'api_error', status: 503, message: 'The service is temporarily unavailable.' },
  // No exchange rate recent enough (docs/currencies.md#staleness): the platform's data, not the request, is at fault.
  rate_unavailable: { type: 'api_error', status: 503, message: 'No exchange rate recent enough is available for this currency pair.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  message?: string;
  param?: string;
  decline_code?: string;
  /** Extra Stripe error fields such as `payment_intent` or `charge` objects. */
  extra?: Record<string, unknown>;
  /**
   * Where Stripe answers one code at two statuses: `url_invalid` is the registry's 404 for an unknown
   * route and a 400 for a webhook endpoint URL that is refused.
   */
  status?: 400;
}

/** An expected failure. Anything else thrown is a bug and becomes a generic 500. */
export class PayrailError extends Error {
  override name = 'PayrailError';
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly decline_code: string | undefined;
  readonly extra: Record<string, unknown> | undefined;
  private readonly status_override: number | undefined;

  constructor(code: ErrorCode, details: ErrorDetails = {}) {
    super(details.message ?? ERROR_CODES[code].message);
    this.code = code;
    this.param = details.param;
    this.decline_code = details.decline_code;
    this.extra = details.extra;
    this.status_override = details.status;
  }

  get status(): number {
    return this.status_override ?? ERROR_CODES[this.code].status;
  }

  get type(): StripeErrorType {
    return ERROR_CODES[this.code].type;
  }
}

export function isPayrailError(error: unknown): error is PayrailError {
  return error instanceof PayrailError;
}

import { ERROR_CODES, PayrailError } from '../../kernel/errors.js';
import type { ErrorCode } from '../../kernel/errors.js';
import { maskCardNumbers } from '../card-numbers.js';
import { isDatabaseUnavailable, isLockNotAvailable, isTransactionConflict } from '../db.js';

/**
 * The one place an error becomes Stripe's `{error: {...}}` body, which may be sent, stored for
 * replays and logged. Messages echo ids and values as sent, and a client that puts a card number
 * where an id belongs must not get it back, nor have it stored: long digit runs keep their last four.
 */
export function errorBody(error: PayrailError): Record<string, unknown> {
  return {
    error: {
      type: error.type,
      code: error.code,
      ...(error.decline_code ? { decline_code: error.decline_code } : {}),
      ...(error.param ? { param: maskCardNumbers(error.param) } : {}),
      message: maskCardNumbers(error.message),
      doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll('_', '-')}`,
      ...(error.extra ?? {}),
    },
  };
}

/** Fastify's own failures (parsing, limits) in Stripe's terms. */
const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'body_invalid',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body_invalid',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content_type_unsupported',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'body_invalid',
  FST_ERR_CTP_INVALID_TYPE: 'content_type_unsupported',
  FST_ERR_BAD_URL: 'url_invalid',
  FST_ERR_MAX_PARAM_LENGTH: 'resource_missing',
};

/** Said when the database is lost, frozen or refusing; it names no host, user or setting. */
const DATABASE_UNAVAILABLE_MESSAGE =
  'Payrail cannot reach its database right now. Retry the request shortly; requests with the same Idempotency-Key are safe to retry.';

/** Answers clients may retry as they are; they carry `Stripe-Should-Retry: true`. */
const SHOULD_RETRY: ReadonlySet<ErrorCode> = new Set(['service_unavailable', 'lock_timeout']);

export function toPayrailError(error: unknown): PayrailError | undefined {
  if (error instanceof PayrailError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const fastify_code = (error as { code?: string }).code;
  if (fastify_code && FASTIFY_ERRORS[fastify_code]) return new PayrailError(FASTIFY_ERRORS[fastify_code]);
  if (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400) return new PayrailError('body_invalid');
  if (isDatabaseUnavailable(error)) return new PayrailError('service_unavailable', { message: DATABASE_UNAVAILABLE_MESSAGE });
  if (isTransactionConflict(error) || isLockNotAvailable(error)) return new PayrailError('lock_timeout');
  return undefined;
}

export function shouldRetry(error: PayrailError): boolean {
  return SHOULD_RETRY.has(error.code);
}

export { ERROR_CODES };

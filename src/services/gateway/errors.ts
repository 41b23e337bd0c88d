import { ERROR_CODES, PayrailError } from '../../kernel/errors.js';
import type { ErrorCode } from '../../kernel/errors.js';

/** The one place an error becomes Stripe's `{error: {...}}` body. */
export function errorBody(error: PayrailError): Record<string, unknown> {
  return {
    error: {
      type: error.type,
      code: error.code,
      ...(error.decline_code ? { decline_code: error.decline_code } : {}),
      ...(error.param ? { param: error.param } : {}),
      message: error.message,
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
};

export function toPayrailError(error: unknown): PayrailError | undefined {
  if (error instanceof PayrailError) return error;
  const fastify_code = (error as { code?: string }).code;
  if (fastify_code && FASTIFY_ERRORS[fastify_code]) return new PayrailError(FASTIFY_ERRORS[fastify_code]);
  if (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400) return new PayrailError('body_invalid');
  return undefined;
}

export { ERROR_CODES };

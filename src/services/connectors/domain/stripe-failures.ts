/**
 * What a Stripe answer that is not a success means for the money, from Stripe's documented
 * semantics (https://stripe.com/docs/error-handling, https://stripe.com/docs/api/idempotent_requests):
 * - 402 `card_error`: the card was declined; a result, nothing to retry.
 * - 400, 401, 403, 404 and 429: Stripe refused the request before doing anything (an idempotent
 *   result is saved only once an endpoint started executing), so no money moved: `refused`.
 * - 400 `idempotency_error` and 409: the key was already used (by a first try whose answer was lost,
 *   or one still running): whatever it did is not known from this answer.
 * - 5xx: Stripe documents that the request may or may not have been processed: `unknown`.
 */
import type { StripeErrorBody } from './stripe-wire.js';

export type StripeFailure =
  | { kind: 'card_error'; body: StripeErrorBody }
  | { kind: 'refused'; status: number; type: string; code: string | null }
  | { kind: 'unknown'; status: number; type: string | null };

function isErrorBody(body: unknown): body is StripeErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'object' && (body as { error: unknown }).error !== null;
}

export function classifyFailure(status: number, body: unknown): StripeFailure {
  const error = isErrorBody(body) ? body.error : null;
  const type = error?.type ?? null;
  if (status === 402 && type === 'card_error' && isErrorBody(body)) return { kind: 'card_error', body };
  if (status >= 500 || status === 409 || type === 'idempotency_error') return { kind: 'unknown', status, type };
  if (status >= 400 && status < 500) return { kind: 'refused', status, type: type ?? 'unknown', code: error?.code ?? null };
  return { kind: 'unknown', status, type };
}

/**
 * An error's description for logs and thrown errors: status, type and code only. Stripe's message
 * is left out: it may quote a parameter, and parameters carry card numbers.
 */
export function describeFailure(failure: StripeFailure): string {
  switch (failure.kind) {
    case 'card_error':
      return `402 card_error/${failure.body.error.code ?? 'unknown'}`;
    case 'refused':
      return `${failure.status} ${failure.type}${failure.code ? `/${failure.code}` : ''}`;
    case 'unknown':
      return `${failure.status}${failure.type ? ` ${failure.type}` : ''}`;
  }
}

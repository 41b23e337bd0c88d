import type { ErrorCode } from '../../../kernel/errors.js';
import { ERROR_CODES, PayrailError } from '../../../kernel/errors.js';
import type { UseCase } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { BillingDeps } from './deps.js';

/**
 * Running a use case (this service's or payments') through the write pipeline from inside another
 * operation or a job, as the invoice's merchant, optionally under an idempotency key derived from the
 * invoice so a retry or a crash replays instead of repeating it.
 */

type Json = Record<string, unknown>;

export type Answer = { ok: true; body: Json } | { ok: false; status: number; body: Json };

export async function runFor<P>(
  deps: BillingDeps,
  merchant_id: string,
  request_id: string | null,
  use_case: UseCase<P>,
  params: P,
  idempotency_key?: string,
): Promise<Answer> {
  const idempotency = idempotency_key === undefined ? undefined : { key: idempotency_key, method: 'POST', path: '/billing/invoices', params };
  const { response } = await execute(deps.write, { merchant_id, request_id, idempotency }, use_case, params);
  const body = JSON.parse(response.body) as Json;
  return response.status === 200 ? { ok: true, body } : { ok: false, status: response.status, body };
}

/** Stripe's error body of a failed answer, as the error it was (so the invoice's caller sees the card's decline as it is). */
export function errorOf(answer: Answer & { ok: false }): PayrailError {
  const { type: _type, code, message, param, decline_code, doc_url: _doc_url, ...extra } = (answer.body.error ?? {}) as Json;
  const known = typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : 'api_error';
  return new PayrailError(known, {
    message: typeof message === 'string' ? message : undefined,
    param: typeof param === 'string' ? param : undefined,
    decline_code: typeof decline_code === 'string' ? decline_code : undefined,
    extra,
  });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Db, Pool, SqlFragment } from '../db.js';
import { combineWrites, isGuardFailure, isUniqueViolation, run } from '../db.js';
import type { OperationContext, Outcome } from '../write/operation.js';
import type { Clock } from '../../kernel/clock.js';
import type { IdGenerator } from '../../kernel/ids.js';
import { PayrailError } from '../../kernel/errors.js';
import type { IdempotencyLock, StoredResponse } from '../write/idempotency.js';
import * as Idempotency from '../write/idempotency.js';
import { errorBody } from './errors.js';
import { parseParams } from './params.js';
import { merchantOf } from './request-context.js';

export interface MutationDeps {
  pool: Pool;
  ids: IdGenerator;
  clock: Clock;
  /** Secret for the keyed request hash stored with each Idempotency-Key. */
  hash_key: Buffer;
  /** Applies `expand[]` to a successful response body (fresh or replayed). */
  expand: (merchant_id: string, body: Record<string, unknown>, fields: readonly string[]) => Promise<Record<string, unknown>>;
}

/** Conflicts and overload say nothing about the request itself, so they are never stored. */
const RETRYABLE: ReadonlySet<string> = new Set(['lock_timeout', 'idempotency_key_in_use', 'rate_limit', 'service_unavailable']);

/**
 * Checks of the request's own values that a use case makes before it does anything (amount below the
 * currency minimum, a card number that fails Luhn). Like schema errors they are not stored, so the
 * key can be retried with corrected parameters, as Stripe allows. A key taken over from a request that
 * died keeps its record either way: the dead request may have reached the processor with its ids.
 */
const VALIDATION: ReadonlySet<string> = new Set([
  'parameter_unknown', 'parameter_missing', 'parameter_invalid_integer', 'parameter_invalid_empty', 'parameter_invalid',
  'parameters_exclusive', 'currency_invalid', 'amount_too_small', 'amount_too_large', 'metadata_invalid',
  'invalid_number', 'incorrect_number', 'invalid_expiry_month', 'invalid_expiry_year', 'invalid_cvc',
]);

export type MutationHandler<P> = (ctx: OperationContext, params: P, request: FastifyRequest) => Promise<Outcome>;

export function renderOutcome(outcome: Outcome): StoredResponse {
  if ('ok' in outcome) return { status: 200, body: JSON.stringify(outcome.ok) };
  return { status: outcome.error.status, body: JSON.stringify(errorBody(outcome.error)) };
}

/**
 * Wraps a POST use case in the write pipeline: validate → idempotency lock → operation → one
 * statement with effects, events and the stored response → reply. Validation errors are not stored
 * (as Stripe), other errors from the operation are, and an unexpected failure frees the key for a retry.
 */
export function mutation<S extends z.ZodType>(deps: MutationDeps, schema: S, handler: MutationHandler<z.output<S>>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const params = parseParams(schema, request.body) as z.output<S>;
    const merchant_id = merchantOf(request);
    const now_ms = deps.clock.now_ms();
    const key = headerValue(request.headers['idempotency-key']);
    let lock: IdempotencyLock | undefined;
    if (key !== undefined) {
      Idempotency.validateKey(key);
      const hash = Idempotency.requestHash(deps.hash_key, request.method, request.url.split('?', 1)[0] ?? '', request.body);
      const acquired = await Idempotency.acquire(deps.pool, deps.ids, merchant_id, key, hash, now_ms);
      if (acquired.kind === 'replay') {
        reply.header('Idempotent-Replayed', 'true');
        return send(reply, await expanded(deps, merchant_id, acquired.response, params));
      }
      lock = acquired.lock;
    }
    const ctx = new Operation(deps, merchant_id, request.id, key, lock, now_ms);
    try {
      const outcome = await handler(ctx, params, request);
      return send(reply, await expanded(deps, merchant_id, ctx.stored ?? renderOutcome(outcome), params));
    } catch (error) {
      if (lock?.first_attempt && error instanceof PayrailError && VALIDATION.has(error.code)) {
        await Idempotency.forget(deps.pool, lock);
      } else if (lock && error instanceof PayrailError && !RETRYABLE.has(error.code)) {
        await storeError(deps.pool, lock, error);
      } else if (lock) {
        await Idempotency.release(deps.pool, lock).catch(() => {});
      }
      throw error;
    }
  };
}

class Operation implements OperationContext {
  readonly now_s: number;
  readonly ids: IdGenerator;
  readonly request: { id: string; idempotency_key: string | null };
  stored: StoredResponse | undefined;

  constructor(
    private readonly deps: MutationDeps,
    readonly merchant_id: string,
    request_id: string,
    idempotency_key: string | undefined,
    private readonly lock: IdempotencyLock | undefined,
    readonly now_ms: number,
  ) {
    this.now_s = Math.floor(now_ms / 1000);
    this.ids = new Idempotency.RequestIds(deps.ids, lock?.reserved ?? {});
    this.request = { id: request_id, idempotency_key: idempotency_key ?? null };
  }

  async commit(db: Db, writes: SqlFragment[], outcome: Outcome): Promise<void> {
    const response = renderOutcome(outcome);
    const all = this.lock ? [...writes, Idempotency.completion(this.lock, response)] : writes;
    try {
      if (all.length > 0) await run(db, combineWrites(all));
    } catch (error) {
      // A duplicate id means a retry took over this request's stale lock and wrote its reserved ids first.
      if (isGuardFailure(error) || (this.lock && isUniqueViolation(error))) {
        throw new PayrailError('lock_timeout', { message: 'The object or idempotency key changed while this request ran; retry the request.' });
      }
      throw error;
    }
    this.stored = response;
  }
}

async function storeError(pool: Pool, lock: IdempotencyLock, error: PayrailError): Promise<void> {
  const response = renderOutcome({ error });
  await run(pool, Idempotency.completion(lock, response));
}

/**
 * The stored response keeps ids; expansions are applied on the way out, so a replay expands too and
 * the hot path stores nothing extra.
 */
async function expanded(deps: MutationDeps, merchant_id: string, response: StoredResponse, params: unknown): Promise<StoredResponse> {
  const fields = (params as { expand?: readonly string[] } | undefined)?.expand;
  if (!fields || fields.length === 0 || response.status !== 200) return response;
  const body = await deps.expand(merchant_id, JSON.parse(response.body) as Record<string, unknown>, fields);
  return { status: response.status, body: JSON.stringify(body) };
}

function send(reply: FastifyReply, response: StoredResponse): void {
  reply.code(response.status).header('content-type', 'application/json; charset=utf-8').send(response.body);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { IdKind } from '../../kernel/ids.js';
import type { OperationContext, Outcome } from '../write/operation.js';
import type { StoredResponse } from '../write/idempotency.js';
import type { WriteDeps } from '../write/pipeline.js';
import { execute } from '../write/pipeline.js';
import { parseParams } from './params.js';
import { merchantOf } from './request-context.js';

export interface MutationDeps {
  write: WriteDeps;
  /** Applies `expand[]` to a successful response body (fresh or replayed). */
  expand: (merchant_id: string, body: Record<string, unknown>, fields: readonly string[]) => Promise<Record<string, unknown>>;
}

export type MutationHandler<P> = (ctx: OperationContext, params: P, request: FastifyRequest) => Promise<Outcome>;

/**
 * A POST route over the write pipeline: validate → run the use case once per Idempotency-Key →
 * reply. `reserves` names the kinds of object the use case creates, so a retry reuses their ids.
 */
export function mutation<S extends z.ZodType>(deps: MutationDeps, schema: S, reserves: readonly IdKind[], handler: MutationHandler<z.output<S>>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const input = paramsOf(request);
    const params = parseParams(schema, input);
    const merchant_id = merchantOf(request);
    const key = headerValue(request.headers['idempotency-key']);
    const result = await execute(
      deps.write,
      {
        merchant_id,
        request_id: request.id,
        actor: { api_key_id: request.api_key?.id ?? null, client_ip: request.ip },
        idempotency: key === undefined ? undefined : { key, method: request.method, path: request.url.split('?', 1)[0] ?? '', params: input },
      },
      { reserves, run: (ctx, p: z.output<S>) => handler(ctx, p, request) },
      params,
    );
    if (result.replayed) reply.header('Idempotent-Replayed', 'true');
    send(reply, await expanded(deps, merchant_id, result.response, params));
  };
}

/** Stripe's SDKs send a DELETE's parameters (`invoice_now`, `prorate`, …) in the query string, as a GET's. */
function paramsOf(request: FastifyRequest): unknown {
  const body = request.body;
  const empty = body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);
  return request.method === 'DELETE' && empty ? request.query : body;
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

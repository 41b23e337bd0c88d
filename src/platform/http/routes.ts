import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { PayrailError } from '../../kernel/errors.js';
import type { IdKind } from '../../kernel/ids.js';
import type { Page, PageRequest } from '../pagination.js';
import type { WriteDeps } from '../write/pipeline.js';
import type { MutationHandler } from './mutation.js';
import { mutation } from './mutation.js';
import { parseCreatedFilter, parseParams, isStorableText } from './params.js';
import { merchantOf } from './request-context.js';

/**
 * The toolkit each service's route plugin is written with: schema-first POSTs through the write
 * pipeline, GETs with `expand[]`, Stripe's list envelope and cursors.
 */
export type Expander = (merchant_id: string, body: Record<string, unknown>, fields: readonly string[]) => Promise<Record<string, unknown>>;

const NO_EXPANSION: Expander = async (_merchant_id, body) => body;

type Json = Record<string, unknown>;

export interface RouteKit {
  /** `reserves`: the kinds of object the use case creates, whose ids a retry of its key must reuse. */
  // Function-typed properties, not methods: route plugins destructure them (`const { get } = routeKit(…)`).
  readonly post: <S extends z.ZodType>(
    path: string,
    schema: S,
    reserves: readonly IdKind[],
    handler: MutationHandler<z.output<S>>,
    method?: 'POST' | 'DELETE',
  ) => void;
  readonly get: <S extends z.ZodType>(
    path: string,
    schema: S,
    handler: (merchant_id: string, query: z.output<S>, request: FastifyRequest) => Promise<Json>,
  ) => void;
}

export function routeKit(app: FastifyInstance, write: WriteDeps, expand: Expander = NO_EXPANSION): RouteKit {
  const mutation_deps = { write, expand };
  return {
    post(path, schema, reserves, handler, method = 'POST') {
      const run = mutation(mutation_deps, schema, reserves, handler);
      app.route({
        method,
        url: path,
        handler: async (request, reply) => {
          await run(request, reply);
          return reply;
        },
      });
    },
    get(path, schema, handler) {
      app.get(path, async (request) => {
        const query = parseParams(schema, request.query);
        const merchant_id = merchantOf(request);
        const body = await handler(merchant_id, query, request);
        const fields = (query as { expand?: string[] }).expand;
        return fields && fields.length > 0 ? expand(merchant_id, body, fields) : body;
      });
    },
  };
}

/** The `:id` path parameter; an id no object could have is simply not found. */
export function pathId(request: FastifyRequest): string {
  return pathParam(request, 'id');
}

/** A named path parameter holding an id, such as `:payment_method` in `/v1/customers/:id/payment_methods/:payment_method`. */
export function pathParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!isStorableText(value)) throw new PayrailError('resource_missing', { message: 'No such object: the id contains characters no id has.' });
  return value;
}

export function listOf(url: string, page: Page<Json>): Json {
  return { object: 'list', data: page.data, has_more: page.has_more, url };
}

export function pageOf(query: {
  limit?: number | undefined;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
  created?: unknown;
}): PageRequest {
  return { limit: query.limit, starting_after: query.starting_after, ending_before: query.ending_before, created: parseCreatedFilter(query.created) };
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import type { MutationHandler } from '../../../platform/http/mutation.js';
import { pathId, routeKit } from '../../../platform/http/routes.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { merchantOf } from '../../../platform/http/request-context.js';
import * as Endpoints from './endpoints.js';
import { WEBHOOK_ENDPOINT_LIMITS } from './endpoints.js';
import type { WebhookSecretBox } from './secrets.js';
import type { DestinationPolicy } from './destinations.js';

/** /v1/webhook_endpoints, through the one write pipeline (validation, idempotency, commit). */

const EVENT_TYPE_LENGTH_MAX = 100;
/** A webhook endpoint has no expandable field: any `expand[]` path is a 400, as on Stripe, before anything is written. */
const nothingExpands = () => false;
const noExpansion = () => expandable(nothingExpands).optional();

const createSchema = z.strictObject({
  url: P.nonEmptyText(WEBHOOK_ENDPOINT_LIMITS.url_length_max),
  enabled_events: P.textList(EVENT_TYPE_LENGTH_MAX, WEBHOOK_ENDPOINT_LIMITS.enabled_events_max),
  description: P.clearableText(5000).optional(),
  metadata: P.metadata().optional(),
  api_version: P.text(32).optional(),
  connect: P.boolean().optional(),
  expand: noExpansion(),
});

const updateSchema = z.strictObject({
  url: P.nonEmptyText(WEBHOOK_ENDPOINT_LIMITS.url_length_max).optional(),
  enabled_events: P.textList(EVENT_TYPE_LENGTH_MAX, WEBHOOK_ENDPOINT_LIMITS.enabled_events_max).optional(),
  description: P.clearableText(5000).optional(),
  metadata: P.metadata().optional(),
  disabled: P.boolean().optional(),
  expand: noExpansion(),
});

const emptySchema = z.strictObject({ expand: noExpansion() });
const retrieveSchema = z.strictObject({ expand: noExpansion() });
const listSchema = z.strictObject({ ...P.listParams, expand: expandableList(nothingExpands).optional() });

/**
 * Registers the routes on the gateway. The signing secrets are sealed with `secrets`; the delivery
 * worker opens them with a box made from the same material and sealing. URLs must reach where
 * `destinations` allows, and use https when the request's key is a live one.
 */
export function registerWebhookRoutes(app: FastifyInstance, pipeline: WriteDeps, secrets: WebhookSecretBox, destinations: DestinationPolicy): void {
  const endpoints = (request: FastifyRequest) => ({ secrets, destinations, livemode: livemodeOf(request) });
  const reader = pipeline.reader;
  const { post } = routeKit(app, pipeline);
  const write = <S extends z.ZodType>(method: 'POST' | 'DELETE', path: string, schema: S, handler: MutationHandler<z.output<S>>) =>
    post(path, schema, ['webhook_endpoint'], handler, method);
  const read = <S extends z.ZodType>(
    path: string,
    schema: S,
    handler: (merchant_id: string, query: z.output<S>, request: FastifyRequest) => Promise<Record<string, unknown>>,
  ) => {
    app.get(path, async (request) => handler(merchantOf(request), P.parseParams(schema, request.query), request));
  };

  write('POST', '/v1/webhook_endpoints', createSchema, (ctx, p, r) => {
    if (p.connect === true) throw new PayrailError('parameter_invalid', { param: 'connect', message: 'Connect webhook endpoints are not supported.' });
    return Endpoints.createEndpoint(endpoints(r), ctx, p);
  });
  write('POST', '/v1/webhook_endpoints/:id', updateSchema, (ctx, p, r) => Endpoints.updateEndpoint(endpoints(r), ctx, pathId(r), p));
  write('DELETE', '/v1/webhook_endpoints/:id', emptySchema, (ctx, _p, r) => Endpoints.deleteEndpoint(endpoints(r), ctx, pathId(r)));
  read('/v1/webhook_endpoints/:id', retrieveSchema, (m, _q, r) => Endpoints.retrieveEndpoint(reader, m, pathId(r)));
  read('/v1/webhook_endpoints', listSchema, async (m, q) => {
    const page = await Endpoints.listEndpoints(reader, m, {
      limit: q.limit,
      starting_after: q.starting_after,
      ending_before: q.ending_before,
      created: P.parseCreatedFilter(q.created),
    });
    return { object: 'list', data: page.data, has_more: page.has_more, url: '/v1/webhook_endpoints' };
  });
}

/** The mode of the request's key, as the gateway's authentication recorded it (test mode without one). */
function livemodeOf(request: FastifyRequest): boolean {
  return (request as { api_key?: { livemode?: boolean } }).api_key?.livemode === true;
}

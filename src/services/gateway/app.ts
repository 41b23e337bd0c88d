import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import qs from 'qs';
import type { Logger } from '../../platform/logger.js';
import type { Clock } from '../../kernel/clock.js';
import type { IdGenerator } from '../../kernel/ids.js';
import { PayrailError } from '../../kernel/errors.js';
import type { ApiKeyResolver } from '../merchants/index.js';
import { API_VERSION } from '../events/index.js';
import { authenticate } from './auth.js';
import type { RateLimiter } from './rate-limit.js';
import { errorBody, shouldRetry, toPayrailError } from '../../platform/http/errors.js';
import { databaseFailureLabel } from '../../platform/db.js';
import { metrics } from '../../platform/metrics.js';
import { registerRequestTracing } from '../../platform/tracing.js';
import { DrainingServer } from '../../platform/http/draining-server.js';

/** A service's routes: a Fastify plugin written with the toolkit in src/platform/http/routes.ts. */
export type ServiceRoutes = (app: FastifyInstance) => Promise<void>;

export interface GatewayDeps {
  keys: ApiKeyResolver;
  ids: IdGenerator;
  clock: Clock;
  logger: Logger;
  body_limit_bytes: number;
  rate_limiter: RateLimiter;
  /** Each service's routes (payments, events, ledger), registered behind authentication. */
  routes: readonly ServiceRoutes[];
  /** Whether migrations are done and the database answers; for /readyz. */
  ready: () => Promise<boolean>;
}

const QS_OPTIONS = { depth: 5, arrayLimit: 100, parameterLimit: 1000, strictDepth: true } as const;
/**
 * The router parses query strings before any hook or error handler, so a throw there (strictDepth)
 * would be an uncaught exception that kills the process. Deeper keys stay literal and fail validation.
 */
const QUERY_OPTIONS = { ...QS_OPTIONS, strictDepth: false } as const;

/** The public HTTP API: an app factory, so tests drive it in process with inject() or over a socket. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  // Typed as Fastify's base logger, so the app is the plain FastifyInstance every route plugin takes.
  const logger: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance: logger,
    // One log line per request comes from our onResponse hook, with the fields operators need.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.body_limit_bytes,
    genReqId: () => deps.ids.next('request'),
    routerOptions: { querystringParser: (query: string) => qs.parse(query, QUERY_OPTIONS) as Record<string, unknown> },
    // Shutdown: idle sockets close at once, in-flight requests finish, late requests get Stripe's 503
    // from the server itself (Fastify's own closing 503 is not Stripe-shaped).
    serverFactory: (handler, options) => new DrainingServer(handler, options),
    return503OnClosing: false,
    // Malformed paths and over-long ids fail in the router, before any hook: answer those in Stripe's shape too.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
  });
  app.decorateRequest('merchant_id', undefined);

  // Only the two body formats Stripe clients send; anything else (text/plain included) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, {});
    let parsed: unknown;
    try {
      parsed = JSON.parse(body as string);
    } catch {
      return done(new PayrailError('body_invalid', { message: 'Invalid JSON in the request body.' }), undefined);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return done(new PayrailError('body_invalid', { message: 'The JSON request body must be an object.' }), undefined);
    }
    done(null, parsed);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, qs.parse(body as string, QS_OPTIONS));
    } catch {
      done(new PayrailError('body_invalid', { message: 'The form-encoded body could not be parsed.' }), undefined);
    }
  });

  // First, so auth, parsing and the handler run inside the request's span (a no-op without tracing).
  registerRequestTracing(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
    reply.header('Stripe-Version', headerString(request.headers['stripe-version']) ?? API_VERSION);
    const key = headerString(request.headers['idempotency-key']);
    if (key !== undefined) reply.header('Idempotency-Key', key.slice(0, 255));
    // The matched route decides, not the raw URL: the router decodes `/%761/…` to a /v1/ route.
    if ((request.routeOptions.url ?? request.url).startsWith('/v1/')) {
      request.merchant_id = await authenticate(request, deps.keys);
      if (!deps.rate_limiter.allow(request.merchant_id, deps.clock.now_ms())) {
        reply.header('Retry-After', '1');
        throw new PayrailError('rate_limit', { message: 'Too many requests hit the API too quickly. Retry after a short wait.' });
      }
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime, reply.getHeader('idempotent-replayed') === 'true');
    request.log.info({
      request_id: request.id,
      merchant_id: request.merchant_id ?? null,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      latency_ms: Math.round(reply.elapsedTime * 100) / 100,
    }, 'request');
  });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const error = new PayrailError('url_invalid', { message: `Unrecognized request URL (${request.method}: ${request.url.split('?', 1)[0]?.slice(0, 200)}).` });
    reply.code(error.status).send(errorBody(error));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // Prometheus exposition (PAYRAIL_METRICS=off removes it). Label values hold no ids or secrets.
  if (metrics.enabled) {
    app.get('/metrics', async (_request, reply) => {
      const { content_type, body } = await metrics.exposition();
      reply.header('content-type', content_type).send(body);
    });
  }
  // A frozen database must not hang the probe: the check races a timeout. One check runs at a time,
  // so probes during an outage do not each hold a pool connection until the query times out.
  let readiness: Promise<boolean> | undefined;
  app.get('/readyz', async (_request, reply) => {
    readiness ??= deps.ready().catch(() => false).finally(() => { readiness = undefined; });
    const ready = await resolvesWithin(readiness, READINESS_TIMEOUT_MS, false);
    reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
  });

  for (const routes of deps.routes) void app.register(routes);
  return app;
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const known = toPayrailError(error);
  metrics.apiError(known?.code ?? 'api_error');
  reply.header('Request-Id', request.id);
  if (known) {
    if (shouldRetry(known)) reply.header('Stripe-Should-Retry', 'true');
    if (known.code === 'service_unavailable' && !(error instanceof PayrailError)) {
      request.log.warn({ request_id: request.id, database_failure: databaseFailureLabel(error) }, 'database unavailable');
    }
    reply.code(known.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(errorBody(known)));
    return;
  }
  request.log.error({ err: error, request_id: request.id }, 'unexpected error');
  const internal = new PayrailError('api_error', { message: `An internal error occurred. Quote request id ${request.id} when reporting it.` });
  reply.code(500).header('Stripe-Should-Retry', 'true').send(errorBody(internal));
}

/** A load balancer's probe answers within a second, whatever the database does. */
const READINESS_TIMEOUT_MS = 800;

function resolvesWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(fallback), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { ApiKeyResolver } from '../../merchants/index.js';
import type { ClientSecretCheck } from './auth.js';
import type { RateLimiter } from '../domain/rate-limit.js';
import { registerRequestTracing } from '../../../platform/tracing.js';
import { DrainingServer } from '../../../platform/http/draining-server.js';
import { scopeHandlersToMerchant } from '../../../platform/http/request-context.js';
import { parseQueryString, registerBodyParsers } from './body-parsers.js';
import { registerErrorReplies, sendError } from './error-replies.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerBrowserLibrary } from './browser-library.js';
import { registerRequestHooks } from './request-hooks.js';

/** A service's routes: a Fastify plugin written with the toolkit in src/platform/http/routes.ts. */
export type ServiceRoutes = (app: FastifyInstance) => Promise<void>;

export interface GatewayDeps {
  keys: ApiKeyResolver;
  ids: IdGenerator;
  clock: Clock;
  logger: Logger;
  body_limit_bytes: number;
  rate_limiter: RateLimiter;
  /** Checks a publishable key's `client_secret` against its object (the owning service's answer); without it such requests are refused. */
  client_secrets?: ClientSecretCheck;
  /** Each service's routes (payments, events, ledger), registered behind authentication. */
  routes: readonly ServiceRoutes[];
  /** Whether migrations are done and the database answers; for /readyz. */
  ready: () => Promise<boolean>;
}

/** The public HTTP API: an app factory, so tests drive it in process with inject() or over a socket. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const app = createFastify(deps);
  app.decorateRequest('merchant_id', undefined);
  app.decorateRequest('api_key', undefined);
  registerBodyParsers(app);
  // First, so auth, parsing and the handler run inside the request's span (a no-op without tracing).
  registerRequestTracing(app);
  registerRequestHooks(app, deps);
  registerErrorReplies(app);
  registerHealthRoutes(app, deps.ready);
  registerBrowserLibrary(app);
  scopeHandlersToMerchant(app);
  for (const routes of deps.routes) void app.register(routes);
  return app;
}

function createFastify(deps: GatewayDeps): FastifyInstance {
  // Typed as Fastify's base logger, so the app is the plain FastifyInstance every route plugin takes.
  const logger: FastifyBaseLogger = deps.logger;
  return Fastify({
    loggerInstance: logger,
    // One log line per request comes from our onResponse hook, with the fields operators need.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.body_limit_bytes,
    genReqId: () => deps.ids.next('request'),
    routerOptions: { querystringParser: parseQueryString },
    // Shutdown: idle sockets close at once, in-flight requests finish, late requests get Stripe's 503
    // from the server itself (Fastify's own closing 503 is not Stripe-shaped).
    serverFactory: (handler, options) => new DrainingServer(handler, options),
    return503OnClosing: false,
    // Malformed paths and over-long ids fail in the router, before any hook: answer those in Stripe's shape too.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
  });
}

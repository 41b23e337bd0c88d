import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { ApiKeyResolver, ConnectedAccountAccess } from '../../merchants/index.js';
import type { ClientSecretCheck } from './auth.js';
import { registerRequestTracing } from '../../../platform/tracing.js';
import { drainingServer } from '../../../platform/http/draining-server.js';
import type { TlsCredentials } from '../../../platform/http/tls.js';
import { HSTS_HEADER } from '../../../platform/http/tls.js';
import { answerClientError } from '../../../platform/http/client-errors.js';
import { SECURITY_HEADERS } from '../../../platform/http/security-headers.js';
import { scopeHandlersToMerchant } from '../../../platform/http/request-context.js';
import { parseQueryString, registerBodyParsers } from './body-parsers.js';
import { registerErrorReplies, sendError } from './error-replies.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerBrowserLibrary } from './browser-library.js';
import { registerRequestHooks } from './request-hooks.js';
import type { RequestLog } from './request-recording.js';
import { registerRequestRecording } from './request-recording.js';
import { registerLimitHooks } from './limit-hooks.js';
import { registerTestModeGuard } from './test-mode.js';
import type { RequestLimitSettings } from './request-limits.js';
import { RequestLimits } from './request-limits.js';

/** A service's routes: a Fastify plugin written with the toolkit in src/platform/http/routes.ts. */
export type ServiceRoutes = (app: FastifyInstance) => Promise<void>;

export interface GatewayDeps {
  keys: ApiKeyResolver;
  /** Which connected accounts a platform's key may act as (Stripe-Account, /v1/accounts/:id). */
  connected_accounts: ConnectedAccountAccess;
  ids: IdGenerator;
  clock: Clock;
  logger: Logger;
  body_limit_bytes: number;
  /** The per-merchant rate limit (weighted by cost) and the failed-authentication throttle per client address. */
  limits: RequestLimitSettings;
  http: HttpServerSettings;
  /** When set, `/metrics` is served on this server to scrapes bearing this token; otherwise not here at all. */
  metrics_token?: string | undefined;
  /** Checks a publishable key's `client_secret` against its object (the owning service's answer); without it such requests are refused. */
  client_secrets?: ClientSecretCheck;
  /** Serve HTTPS with these (PAYRAIL_TLS_CERT / PAYRAIL_TLS_KEY), with HSTS on every answer; plain HTTP without. */
  tls?: TlsCredentials | undefined;
  /** Each service's routes (payments, events, ledger), registered behind authentication. */
  routes: readonly ServiceRoutes[];
  /** Whether migrations are done and the database answers; for /readyz. */
  ready: () => Promise<boolean>;
  /** Where each answered `/v1` request is recorded (the dashboard's request log); none when unset. */
  request_log?: RequestLog | undefined;
}

/** How long a client may take to send a request or keep an idle socket, and how many sockets the server holds. */
export interface HttpServerSettings {
  request_timeout_ms: number;
  keep_alive_timeout_ms: number;
  max_connections: number;
  /** Proxies trusted to name the client in X-Forwarded-For (addresses or CIDRs). */
  trust_proxy?: string[] | undefined;
}

/** The public HTTP API: an app factory, so tests drive it in process with inject() or over a socket. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const app = createFastify(deps);
  app.decorateRequest('merchant_id', undefined);
  app.decorateRequest('api_key', undefined);
  app.decorateRequest('platform_id', undefined);
  registerBodyParsers(app);
  // First, so auth, parsing and the handler run inside the request's span (a no-op without tracing).
  registerRequestTracing(app);
  const limits = new RequestLimits(deps.limits, deps.clock, deps.logger);
  registerRequestHooks(app, { ...deps, limits });
  registerRequestRecording(app, deps.request_log, deps.clock);
  registerLimitHooks(app, limits);
  registerTestModeGuard(app);
  registerErrorReplies(app);
  registerHealthRoutes(app, deps.ready, deps.metrics_token);
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
    serverFactory: (handler, options) =>
      drainingServer(
        handler,
        options,
        { max_connections: deps.http.max_connections, response_headers: deps.tls ? { ...SECURITY_HEADERS, ...HSTS_HEADER } : SECURITY_HEADERS },
        deps.tls,
      ),
    // The server itself is the factory's; this only makes listen() answer with an https:// address.
    ...(deps.tls ? { https: {} } : {}),
    // A body that never arrives holds its socket only this long (slowloris), and an idle keep-alive socket this long.
    requestTimeout: deps.http.request_timeout_ms,
    keepAliveTimeout: deps.http.keep_alive_timeout_ms,
    clientErrorHandler: answerClientError,
    ...(deps.http.trust_proxy ? { trustProxy: deps.http.trust_proxy } : {}),
    return503OnClosing: false,
    // Malformed paths and over-long ids fail in the router, before any hook: answer those in Stripe's shape too.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
  });
}

import type { FastifyInstance } from 'fastify';
import { metrics } from '../../../platform/metrics.js';
import type { ApiKeyResolver, ConnectedAccountAccess } from '../../merchants/index.js';
import { API_VERSION } from '../../events/index.js';
import type { ClientSecretCheck } from './auth.js';
import { authenticate, checkClientSecret, checkExpandPermissions, publishablePayload } from './auth.js';
import { answeredVersion } from './api-versions.js';
import { resolveActingAccount } from './acting-account.js';
import { refuseThrottledAddress } from './limit-hooks.js';
import type { RequestLimits } from './request-limits.js';

/** What every request goes through before its route (Stripe's headers, authentication, rate limit) and after it (metrics, one log line). */

export interface RequestHookDeps {
  keys: ApiKeyResolver;
  /** Which connected accounts a platform may act as (Stripe-Account). */
  connected_accounts: ConnectedAccountAccess;
  limits: RequestLimits;
  client_secrets?: ClientSecretCheck | undefined;
}

export function registerRequestHooks(app: FastifyInstance, deps: RequestHookDeps): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
    // Payrail's version until the request's is known good: an error for a bad one is in Payrail's shape.
    reply.header('Stripe-Version', API_VERSION);
    reply.header('Stripe-Version', answeredVersion(headerString(request.headers['stripe-version'])));
    const key = headerString(request.headers['idempotency-key']);
    if (key !== undefined) reply.header('Idempotency-Key', key.slice(0, 255));
    // The matched route decides, not the raw URL: the router decodes `/%761/…` to a /v1/ route.
    const route = request.routeOptions.url ?? request.url;
    // Wrong admin tokens count as failed authentications too (limit-hooks.ts), and are refused alike.
    if (route.startsWith('/admin/')) await refuseThrottledAddress(request, reply, deps.limits);
    if (route.startsWith('/v1/')) {
      await refuseThrottledAddress(request, reply, deps.limits);
      request.api_key = await authenticate(request, deps.keys);
      await resolveActingAccount(request, request.api_key, deps.connected_accounts);
      // The rate limit is taken in limit-hooks.ts once the body is parsed: a request's cost depends on it.
    }
  });

  // Publishable keys' client_secret is in the body for POSTs: checked once the body is parsed.
  app.addHook('preValidation', async (request) => checkClientSecret(request, deps.client_secrets));
  app.addHook('preValidation', async (request) => checkExpandPermissions(request));
  app.addHook('onSend', async (request, _reply, payload) => publishablePayload(request, payload));

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime,
      reply.getHeader('idempotent-replayed') === 'true',
    );
    request.log.info(
      {
        request_id: request.id,
        merchant_id: request.merchant_id ?? null,
        platform_id: request.platform_id ?? null,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        latency_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

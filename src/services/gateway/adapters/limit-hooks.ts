import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { EXPAND_MAX_PATHS, expandEntries } from '../../../platform/http/params.js';
import { metrics } from '../../../platform/metrics.js';
import { addressKey } from '../domain/client-address.js';
import { requestCost } from '../domain/request-cost.js';
import type { RequestLimits } from './request-limits.js';

/**
 * The limits every API request meets: a client address with too many failed authentications is
 * refused before its key is even looked at, and each merchant's requests spend from its rate limit
 * what they cost (known once the body is parsed, before the route runs).
 */
export function registerLimitHooks(app: FastifyInstance, limits: RequestLimits): void {
  app.addHook('onError', async (request, _reply, error) => {
    if ((error as { code?: unknown }).code === 'api_key_invalid') await limits.recordFailedAuthentication(clientAddress(request));
  });
  app.addHook('preHandler', async (request, reply) => {
    if (request.merchant_id === undefined) return;
    // A platform acting as its connected accounts spends its own limit: it cannot multiply it by acting as many.
    const decision = await limits.take(request.platform_id ?? request.merchant_id, costOf(request));
    if (!decision.allowed) {
      throw tooManyRequests(reply, decision.retry_after_ms, 'Too many requests hit the API too quickly. Retry after a short wait, or spread requests out.');
    }
  });
  app.addHook('onClose', async () => limits.close());
  // Past PAYRAIL_HTTP_MAX_CONNECTIONS Node closes a new socket at once ('drop'): operators see it counted.
  app.server.on('drop', () => metrics.connectionRefused());
}

/** Called by the authentication hook before it reads the key: a throttled address learns nothing about keys. */
export async function refuseThrottledAddress(request: FastifyRequest, reply: FastifyReply, limits: RequestLimits): Promise<void> {
  const blocked_ms = await limits.blockedFor(clientAddress(request));
  if (blocked_ms !== undefined) {
    throw tooManyRequests(reply, blocked_ms, 'Too many requests with invalid API keys came from your address. Retry later with a valid key.');
  }
}

function tooManyRequests(reply: FastifyReply, retry_after_ms: number, message: string): PayrailError {
  reply.header('Retry-After', String(Math.max(1, Math.ceil(retry_after_ms / 1000))));
  return new PayrailError('rate_limit', { message });
}

/** The largest page a list endpoint returns (`limit` is validated later; the cost must not exceed it). */
const LARGEST_PAGE = 100;

function costOf(request: FastifyRequest): number {
  const params = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
  // Any shape may arrive here (`limit[toString]=x` is an object); only a string is a page size.
  const limit = request.method === 'GET' && typeof params?.limit === 'string' ? Number(params.limit) : Number.NaN;
  const expansions = params?.expand === undefined ? 0 : new Set(expandEntries(params.expand)).size;
  return requestCost({
    write: request.method !== 'GET',
    objects: Number.isSafeInteger(limit) ? Math.min(Math.max(limit, 1), LARGEST_PAGE) : 1,
    expansions: Math.min(expansions, EXPAND_MAX_PATHS),
  });
}

function clientAddress(request: FastifyRequest): string {
  return addressKey(request.ip);
}

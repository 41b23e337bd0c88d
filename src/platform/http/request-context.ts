import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { withMerchant } from '../merchant-scope.js';

declare module 'fastify' {
  interface FastifyRequest {
    merchant_id: string | undefined;
  }
}

export function merchantOf(request: FastifyRequest): string {
  const merchant_id = request.merchant_id;
  if (!merchant_id) throw new Error('route reached without authentication');
  return merchant_id;
}

/**
 * Every route registered after this runs in its authenticated merchant's scope (merchant-scope.ts),
 * so each of its statements through the request path's pools sees that merchant's rows and no other:
 * row-level security holds even where a query forgets its `merchant_id` condition.
 */
export function scopeHandlersToMerchant(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (this: FastifyInstance, ...args: Parameters<RouteHandlerMethod>) => unknown;
    route.handler = function scoped(this: FastifyInstance, request, reply) {
      const merchant_id = request.merchant_id;
      return merchant_id === undefined ? handler.call(this, request, reply) : withMerchant(merchant_id, () => handler.call(this, request, reply));
    };
  });
}

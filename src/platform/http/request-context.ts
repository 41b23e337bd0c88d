import type { FastifyRequest } from 'fastify';

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

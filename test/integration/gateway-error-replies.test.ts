import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorReplies } from '../../src/services/gateway/adapters/error-replies.js';

/**
 * A socket error met after the request's body arrived is the database's (pg raises ECONNRESET when
 * PostgreSQL dies mid-statement), not the client's abort. It must answer a retryable 503, never the
 * 400 `body_invalid` of an aborted upload: a client does not retry a 400, so the payment would be lost.
 */
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  app = Fastify({ logger: false });
  registerErrorReplies(app);
  app.post('/socket-reset-after-body', async (request) => {
    expect(request.body).toEqual({ amount: 1000 });
    throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
});

describe('a socket error raised after the body arrived', () => {
  it('answers a retryable 503 service_unavailable, not an aborted upload', async () => {
    const answer = await fetch(`${url}/socket-reset-after-body`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1000 }),
    });
    const body = (await answer.json()) as { error: { type: string; code: string } };
    expect(answer.status).toBe(503);
    expect(body.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
    expect(answer.headers.get('stripe-should-retry')).toBe('true');
  });
});

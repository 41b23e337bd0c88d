import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { PayrailError } from '../../kernel/errors.js';
import type { Logger } from '../logger.js';
import { errorBody } from './errors.js';
import type { MtlsCredentials } from './mtls.js';
import { mtlsServerOptions, peerName } from './mtls.js';

/**
 * The server side every internal service over mutual TLS shares (the vault, risk): a Fastify app that
 * refuses clients without a certificate from the CA during the handshake, answers callers outside the
 * allowed certificate names 403, and answers every failure Stripe-shaped. The service adds its routes.
 */
export interface MtlsServiceOptions {
  /** Names the service in messages and logs: `vault`, `risk`. */
  service: string;
  tls: MtlsCredentials;
  logger: Logger;
  call_timeout_ms: number;
  body_limit_bytes: number;
  /** Certificate names (CN) that may call; unset, any certificate from the CA. */
  callers?: readonly string[] | undefined;
}

export interface MtlsService {
  url: string;
  close(): Promise<void>;
}

const HANDSHAKE_TIMEOUT_MS = 5_000;

export function mtlsServiceApp(options: MtlsServiceOptions): FastifyInstance {
  const { service, logger } = options;
  const app = Fastify({
    https: mtlsServerOptions(options.tls, HANDSHAKE_TIMEOUT_MS),
    bodyLimit: options.body_limit_bytes,
    connectionTimeout: options.call_timeout_ms * 2,
    requestTimeout: options.call_timeout_ms * 2,
    logger: false,
  });
  app.setErrorHandler((error, _request, reply) => answerError(service, logger, reply, error));
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send(errorBody(new PayrailError('resource_missing', { message: `No such ${service} operation.` }))),
  );
  const callers = options.callers ? new Set(options.callers) : undefined;
  if (callers) {
    app.addHook('onRequest', async (request, reply) => {
      const caller = peerName(request.raw.socket as TLSSocket);
      if (callers.has(caller)) return;
      logger.warn({ caller, path: request.url }, `${service}: refused a caller outside the allowed roles`);
      await reply.code(403).send(errorBody(new PayrailError('permission_denied', { message: `This service may not call the ${service}.` })));
    });
  }
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/** Listens (port 0 picks a free one) and names the address callers use. */
export async function listenMtlsService(app: FastifyInstance, host = '127.0.0.1', port = 0): Promise<MtlsService> {
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  return { url: `https://${host}:${address.port}`, close: () => app.close() };
}

/** The 400 for a body its schema refused: names the field, never repeats a value (it may be a secret). */
export function invalidBody(service: string, operation: string, issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey> }>): PayrailError {
  const param = issues[0]?.path.map(String).join('.') ?? '';
  return new PayrailError('parameter_invalid', { param, message: `Invalid ${param || 'body'} for ${service} ${operation}.` });
}

/** The work, or a 503 once `timeout_ms` passed (the caller's own timeout is shorter or equal). */
export async function withDeadline<T>(service: string, work: Promise<T>, timeout_ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new PayrailError('service_unavailable', { message: `The ${service} did not finish the call in time.` })), timeout_ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function answerError(service: string, logger: Logger, reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof PayrailError) return reply.code(error.status).send(errorBody(error));
  const status = (error as { statusCode?: number }).statusCode;
  // Fastify's own refusals (a body too large, not JSON) are the caller's mistake.
  if (status !== undefined && status >= 400 && status < 500) {
    return reply.code(status).send(errorBody(new PayrailError('parameter_invalid', { message: `The ${service} could not read the request body.` })));
  }
  logger.error({ err: error }, `${service} call failed`);
  return reply.code(503).send(errorBody(new PayrailError('service_unavailable', { message: `The ${service} could not complete the call.` })));
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { databaseFailureLabel } from '../../../platform/db.js';
import { errorBody, shouldRetry, toPayrailError } from '../../../platform/http/errors.js';
import { metrics } from '../../../platform/metrics.js';

/** Every error leaves the gateway in Stripe's shape and status: thrown by a route, by the router, or an unknown URL. */

export function registerErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const error = new PayrailError('url_invalid', { message: `Unrecognized request URL (${request.method}: ${request.url.split('?', 1)[0]?.slice(0, 200)}).` });
    reply.code(error.status).send(errorBody(error));
  });
}

/** A known error answers with its status and code; anything else is a 500 `api_error` that names the request id, never the cause. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (clientAborted(error, request)) {
    // The client closed the connection mid-upload: nothing of ours failed, and no one is left to answer.
    request.log.info({ request_id: request.id }, 'client closed the connection before its request arrived');
    reply.code(ABORTED.status).send(errorBody(ABORTED));
    return;
  }
  const known = toPayrailError(error);
  metrics.apiError(known?.code ?? 'api_error');
  reply.header('Request-Id', request.id);
  if (known) {
    if (shouldRetry(known)) reply.header('Stripe-Should-Retry', 'true');
    if (known.code === 'service_unavailable' && !(error instanceof PayrailError)) {
      request.log.warn({ request_id: request.id, database_failure: databaseFailureLabel(error) }, 'database unavailable');
    }
    reply
      .code(known.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(errorBody(known)));
    return;
  }
  request.log.error({ err: error, request_id: request.id }, 'unexpected error');
  const internal = new PayrailError('api_error', { message: `An internal error occurred. Quote request id ${request.id} when reporting it.` });
  reply.code(500).header('Stripe-Should-Retry', 'true').send(errorBody(internal));
}

const ABORTED = new PayrailError('body_invalid', { message: 'The request was aborted before its body arrived.' });

/**
 * Reading the body failed because the socket closed (Node raises ECONNRESET "aborted" on the request stream).
 * Judged by `complete`, not `destroyed`: Node destroys a request once its body is read, so a database
 * connection reset later in the handler would otherwise pass for the client's abort and answer 400.
 */
function clientAborted(error: unknown, request: FastifyRequest): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ECONNRESET' || code === 'ECONNABORTED') && !request.raw.complete;
}

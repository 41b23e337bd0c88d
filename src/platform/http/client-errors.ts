import type { Socket } from 'node:net';
import { PayrailError } from '../../kernel/errors.js';
import { metrics } from '../metrics.js';
import { errorBody } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * Answers for requests that never became a whole HTTP request — too slow to arrive (the request
 * timeout), malformed, or headers too large — written to the socket in Stripe's shape, then the
 * socket closes. Fastify's `clientErrorHandler`; the server's request handler never sees these.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // The client is gone, or an answer already started on this socket: there is nothing safe to write.
  const in_flight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || in_flight?.headersSent) {
    socket.destroy();
    return;
  }
  const failure = clientFailure(error);
  // Counted with the other errors, so slow or malformed clients show in payrail_api_errors_total.
  metrics.apiError(failure.code);
  const body = JSON.stringify(errorBody(failure));
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...SECURITY_HEADERS,
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${failure.status} ${failure.status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n${head.join('')}\r\n${body}`);
  socket.destroySoon();
}

function clientFailure(error: NodeJS.ErrnoException): PayrailError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new PayrailError('request_timeout', { message: 'The request did not arrive in time: send the headers and the whole body without pausing.' });
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return new PayrailError('body_invalid', { message: 'The request headers are too large.' });
  return new PayrailError('body_invalid', { message: 'The request is not valid HTTP.' });
}

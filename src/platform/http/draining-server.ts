import { Server } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PayrailError } from '../../kernel/errors.js';
import { errorBody } from './errors.js';

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The settings Fastify applies to a server it creates itself; a server factory must apply them too. */
export interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

const SHUTTING_DOWN = new PayrailError('service_unavailable', { message: 'Payrail is shutting down; retry the request.' });

/**
 * An HTTP server that stops cleanly. Node's close() waits for every socket, and closeIdleConnections()
 * spares a socket that connected but has not sent a whole request yet, so one idle client could hold a
 * shutdown until the process was killed. This server knows which sockets carry a request: on close()
 * every socket without one is closed at once, each answer still in flight goes out with
 * `Connection: close`, and a request that arrives anyway gets Stripe's 503 rather than Fastify's.
 */
export class DrainingServer extends Server {
  readonly #in_flight = new Map<Socket, Set<ServerResponse>>();
  #draining = false;

  constructor(handler: RequestHandler, timeouts: ServerTimeouts = {}) {
    super();
    if (timeouts.keepAliveTimeout !== undefined) this.keepAliveTimeout = timeouts.keepAliveTimeout;
    if (timeouts.requestTimeout !== undefined) this.requestTimeout = timeouts.requestTimeout;
    if (timeouts.connectionTimeout) this.setTimeout(timeouts.connectionTimeout);
    if (timeouts.maxRequestsPerSocket) this.maxRequestsPerSocket = timeouts.maxRequestsPerSocket;
    this.on('connection', (socket: Socket) => this.#track(socket));
    this.on('request', (request: IncomingMessage, response: ServerResponse) => this.#serve(request, response, handler));
  }

  override close(callback?: (error?: Error) => void): this {
    this.#draining = true;
    for (const [socket, responses] of this.#in_flight) {
      if (responses.size === 0) socket.destroy();
      for (const response of responses) if (!response.headersSent) response.setHeader('connection', 'close');
    }
    return super.close(callback);
  }

  #track(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    this.#in_flight.set(socket, new Set());
    socket.once('close', () => this.#in_flight.delete(socket));
  }

  #serve(request: IncomingMessage, response: ServerResponse, handler: RequestHandler): void {
    const responses = this.#in_flight.get(request.socket);
    if (this.#draining || !responses) {
      refuse(response);
      return;
    }
    responses.add(response);
    // 'close' follows both a finished answer and a dropped connection.
    response.once('close', () => {
      responses.delete(response);
      if (this.#draining && responses.size === 0) request.socket.end();
    });
    handler(request, response);
  }
}

function refuse(response: ServerResponse): void {
  const body = JSON.stringify(errorBody(SHUTTING_DOWN));
  response.writeHead(SHUTTING_DOWN.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
    'retry-after': '1',
    // Stripe's SDKs retry a request when told to, so clients move on to another (or the restarted) process.
    'stripe-should-retry': 'true',
  });
  response.end(body);
}

/** How long requests in flight at shutdown may take to answer before their sockets are cut. */
export const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Closes a gateway built on a DrainingServer: in-flight requests get up to `drain_timeout_ms` to
 * answer, then their sockets are cut so the close (and what follows it: workers, pool) can go on.
 */
export async function closeWithin(app: { close(): Promise<unknown>; server: Server }, drain_timeout_ms = DRAIN_TIMEOUT_MS): Promise<void> {
  const cut_off = setTimeout(() => app.server.closeAllConnections(), drain_timeout_ms);
  try {
    await app.close();
  } finally {
    clearTimeout(cut_off);
  }
}

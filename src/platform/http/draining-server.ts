import { Server } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { PayrailError } from '../../kernel/errors.js';
import { errorBody } from './errors.js';
import type { TlsCredentials } from './tls.js';
import { tlsServerOptions } from './tls.js';

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The settings Fastify applies to a server it creates itself; a server factory must apply them too. */
export interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

/** What one client may hold of the server: sockets, time to send a request, and headers every answer carries. */
export interface ConnectionLimits {
  /** Sockets open at once; a socket past it is closed as it connects. */
  max_connections?: number;
  /** Longest wait for a request's headers; the whole request (body included) has `requestTimeout`. */
  headers_timeout_ms?: number;
  /** Set on every response, before the handler runs, so errors and refusals carry them too. */
  response_headers?: Readonly<Record<string, string>>;
}

/** Node checks request and header timeouts on an interval (30 s by default); a 1 s timeout needs a finer one. */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 1_000;

const SHUTTING_DOWN = new PayrailError('service_unavailable', { message: 'Payrail is shutting down; retry the request.' });

/** An http.Server, or an https.Server (which Node builds as a tls.Server with the same HTTP methods). */
type HttpServerClass = new (options: object) => Server;

/**
 * An HTTP server that stops cleanly. Node's close() waits for every socket, and closeIdleConnections()
 * spares a socket that connected but has not sent a whole request yet, so one idle client could hold a
 * shutdown until the process was killed. This server knows which sockets carry a request: on close()
 * every socket without one is closed at once, each answer still in flight goes out with
 * `Connection: close`, and a request that arrives anyway gets Stripe's 503 rather than Fastify's.
 *
 * Built over http.Server or https.Server: with TLS a request's socket is the TLS socket, which exists
 * from `secureConnection` on (a client still in its handshake has `handshakeTimeout` to finish it).
 */
function drainingServerOver(Base: HttpServerClass, connection_event: 'connection' | 'secureConnection') {
  return class DrainingServer extends Base {
    readonly #in_flight = new Map<Socket, Set<ServerResponse>>();
    #draining = false;

    readonly #response_headers: Readonly<Record<string, string>>;

    constructor(handler: RequestHandler, timeouts: ServerTimeouts = {}, limits: ConnectionLimits = {}, tls?: TlsCredentials) {
      const request_timeout = timeouts.requestTimeout ?? 0;
      const headers_timeout = limits.headers_timeout_ms ?? 60_000;
      // Node refuses a headers timeout longer than the request's.
      const effective_headers_timeout = request_timeout > 0 ? Math.min(headers_timeout, request_timeout) : headers_timeout;
      super({
        // A TLS handshake gets no longer than the request's headers would.
        ...(tls ? tlsServerOptions(tls, effective_headers_timeout) : {}),
        requestTimeout: request_timeout,
        headersTimeout: effective_headers_timeout,
        connectionsCheckingInterval: Math.max(
          50,
          Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, Math.floor(Math.min(headers_timeout, request_timeout || headers_timeout) / 4)),
        ),
      });
      if (timeouts.keepAliveTimeout !== undefined) this.keepAliveTimeout = timeouts.keepAliveTimeout;
      if (timeouts.connectionTimeout) this.setTimeout(timeouts.connectionTimeout);
      if (timeouts.maxRequestsPerSocket) this.maxRequestsPerSocket = timeouts.maxRequestsPerSocket;
      if (limits.max_connections) this.maxConnections = limits.max_connections;
      this.#response_headers = limits.response_headers ?? {};
      this.on(connection_event, (socket: Socket) => this.#track(socket));
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
      for (const [name, value] of Object.entries(this.#response_headers)) response.setHeader(name, value);
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
  };
}

export const DrainingServer = drainingServerOver(Server, 'connection');
const DrainingTlsServer = drainingServerOver(HttpsServer, 'secureConnection');

/** A DrainingServer, over TLS when given credentials (PAYRAIL_TLS_CERT / PAYRAIL_TLS_KEY). */
export function drainingServer(handler: RequestHandler, timeouts: ServerTimeouts = {}, limits: ConnectionLimits = {}, tls?: TlsCredentials): Server {
  return tls ? new DrainingTlsServer(handler, timeouts, limits, tls) : new DrainingServer(handler, timeouts, limits);
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

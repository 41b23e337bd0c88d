import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy between a connector and the processor it calls, which a test arms with faults for the
 * next matching requests:
 * - `drop_response`: the request reaches the processor, which answers; the answer is thrown away and
 *   the connection cut (a response lost on the way back: the processor did the work);
 * - `hang`: the request reaches the processor, the answer is held back until the proxy closes (a
 *   timeout after the charge was made);
 * - `fail_500`: answered 500 by the proxy itself; the processor never sees it (a gateway error).
 * Every request is logged with what happened to it.
 */

export type Fault = 'drop_response' | 'hang' | 'fail_500';

interface ArmedFault {
  method: string;
  path: RegExp;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The processor's status, or the fault applied instead of it. */
  outcome: number | Fault;
}

export class HttpFaultProxy {
  readonly log: ProxiedRequest[] = [];
  private readonly armed: ArmedFault[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  static async start(target_url: string): Promise<HttpFaultProxy> {
    const server = createServer();
    const proxy = new HttpFaultProxy(server, new URL(target_url));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => proxy.handle(request, response));
    server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Applies `fault` to the next request with this method whose path (query included) matches. */
  arm(method: string, path: RegExp, fault: Fault): void {
    this.armed.push({ method, path, fault });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(method: string, path: string): Fault | null {
    const index = this.armed.findIndex((armed) => armed.method === method && armed.path.test(path));
    if (index < 0) return null;
    const [armed] = this.armed.splice(index, 1);
    return armed!.fault;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const fault = this.take(method, path);
      if (fault === 'fail_500') {
        this.log.push({ method, path, outcome: fault });
        response.writeHead(500, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
        return;
      }
      const upstream = httpRequest(
        { host: this.target.hostname, port: this.target.port, method, path, headers: { ...request.headers, host: this.target.host } },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            this.log.push({ method, path, outcome: fault ?? answer.statusCode ?? 0 });
            if (fault === 'drop_response') {
              request.socket.destroy();
              return;
            }
            if (fault === 'hang') return;
            response.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', () => request.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  }
}

import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy between Payrail and PostgreSQL that a test can freeze, resume and cut, to play a
 * database that stops answering (a SIGSTOPped server, a network that drops packets) or a connection
 * torn down under it (failover, a firewall reset).
 *
 * Frozen: nothing is read from either side, so bytes wait in the kernel's buffers and every socket
 * stays open, just as a stopped server leaves them. New connections are accepted (the kernel does
 * that for a stopped server too) and wait as well. Resumed: everything waiting flows on.
 */
export class TcpProxy {
  private frozen = false;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  route(url: string): string {
    const routed = new URL(url);
    routed.hostname = '127.0.0.1';
    routed.port = String(this.port);
    return routed.toString();
  }

  /** Open sockets, both sides counted. */
  get open_sockets(): number {
    return this.sockets.size;
  }

  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  resume(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  /** Destroys every connection at once, both sides; new connections are accepted as before. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      if (this.frozen) socket.pause();
      socket.on('close', () => this.sockets.delete(socket));
      // One side failing takes the other down with it, as a real broken connection would.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream, () => this.frozen);
    forward(upstream, client, () => this.frozen);
  }
}

/** Copies `from` into `to`, pausing `from` while `to` is backed up, and never while frozen. */
function forward(from: net.Socket, to: net.Socket, frozen: () => boolean): void {
  from.on('data', (chunk) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (!frozen()) from.resume();
  });
  from.on('end', () => to.end());
  from.on('close', () => to.destroy());
}

import { sameSecret } from '../kernel/secrets.js';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from './metrics.js';
import { SECURITY_HEADERS } from './http/security-headers.js';

/**
 * Where Prometheus scrapes `/metrics`: a listener of its own (PAYRAIL_METRICS_HOST and _PORT, loopback
 * by default), so the API port — the one a load balancer publishes — never serves it. With
 * PAYRAIL_METRICS_TOKEN set, the API port serves it instead, to scrapes bearing the token.
 */

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** A scrape waits at most this long for its request to arrive. */
const SCRAPE_REQUEST_TIMEOUT_MS = 5_000;

export async function listenForScrapes(host: string, port: number): Promise<MetricsListener> {
  const server = createServer({ requestTimeout: SCRAPE_REQUEST_TIMEOUT_MS, headersTimeout: SCRAPE_REQUEST_TIMEOUT_MS }, (request, response) => {
    void serveScrape(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown_host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown_host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveScrape(request: IncomingMessage, response: ServerResponse): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  if (request.method !== 'GET' || request.url?.split('?', 1)[0] !== '/metrics') {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: this listener serves GET /metrics only.\n');
    return;
  }
  try {
    const { content_type, body } = await metrics.exposition();
    response.writeHead(200, { 'content-type': content_type }).end(body);
  } catch {
    response.writeHead(500, { 'content-type': 'text/plain' }).end('The metrics could not be collected.\n');
  }
}

/** Whether an Authorization header bears the scrape token (compared in constant time). */
export function scrapeAuthorized(header: string | undefined, token: string): boolean {
  const [scheme, value] = (header ?? '').split(' ', 2);
  if (scheme?.toLowerCase() !== 'bearer' || !value) return false;
  return sameSecret(token, value);
}

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../src/services/events/webhooks/transport.js';
import { webhookTransport } from '../../src/services/events/webhooks/transport.js';

/**
 * The delivery worker's HTTP transport against real local sockets: which destinations it dials (the
 * check runs on the address connected to, after /etc/hosts or DNS), redirects, timeouts and the
 * bounded response excerpt.
 */

let server: Server;
let port: number;
let connections = 0;
const paths: string[] = [];

function answer(request: IncomingMessage, response: ServerResponse): void {
  paths.push(request.url ?? '');
  if (request.url === '/redirect') response.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
  else if (request.url === '/large') response.writeHead(200).end('x'.repeat(1_000_000));
  else if (request.url === '/hang') return;
  else response.writeHead(200).end(`ok ${request.headers['content-length']}`);
}

beforeAll(async () => {
  server = createServer(answer);
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = (url: string, extra: Partial<WebhookRequest> = {}): WebhookRequest => ({
  url,
  body: '{"id":"evt_1"}',
  headers: { 'content-type': 'application/json' },
  timeout_ms: 2_000,
  excerpt_max: 100,
  ...extra,
});

describe('public destinations only (the default)', () => {
  const transport = webhookTransport({ allow_private: false, https_only: false });

  it('refuses loopback by name and in every literal spelling, before connecting', async () => {
    const before = connections;
    for (const host of ['localhost', '127.0.0.1', '0x7f.1', '2130706433', '017700000001', '127.1', '[::ffff:127.0.0.1]', '[::1]', '[::127.0.0.1]', '0.0.0.0']) {
      const response = await transport(request(`http://${host}:${port}/hook`));
      expect(response, host).toEqual({ status: null, error: 'destination_not_allowed', excerpt: null });
    }
    for (const host of ['169.254.169.254', '10.0.0.1', '192.168.0.1', '[fd00::1]']) {
      expect((await transport(request(`http://${host}/`))).error, host).toBe('destination_not_allowed');
    }
    expect(connections).toBe(before);
  });

  it('refuses over https the same way', async () => {
    expect(await transport(request(`https://localhost:${port}/hook`))).toEqual({ status: null, error: 'destination_not_allowed', excerpt: null });
  });
});

describe('with PAYRAIL_WEBHOOKS_ALLOW_PRIVATE (development)', () => {
  const transport = webhookTransport({ allow_private: true, https_only: false });

  it('reaches a local receiver, by name too, and sends the body with its length', async () => {
    expect(await transport(request(`http://localhost:${port}/hook`))).toEqual({ status: 200, error: null, excerpt: 'ok 14' });
    expect(await transport(request(`http://127.0.0.1:${port}/hook`))).toMatchObject({ status: 200 });
  });

  it('still refuses the unspecified address, which would reach this machine', async () => {
    expect((await transport(request(`http://0.0.0.0:${port}/hook`))).error).toBe('destination_not_allowed');
  });

  it('does not follow redirects: a 3xx is the answer', async () => {
    const before = paths.length;
    expect(await transport(request(`http://127.0.0.1:${port}/redirect`))).toMatchObject({ status: 302, error: null });
    expect(paths.slice(before)).toEqual(['/redirect']);
  });

  it('keeps a bounded excerpt of a large answer', async () => {
    const response = await transport(request(`http://127.0.0.1:${port}/large`, { excerpt_max: 50 }));
    expect(response).toEqual({ status: 200, error: null, excerpt: 'x'.repeat(50) });
  });

  it('gives up on a receiver that never answers, at the timeout', async () => {
    const started = performance.now();
    expect(await transport(request(`http://127.0.0.1:${port}/hang`, { timeout_ms: 300 }))).toEqual({ status: null, error: 'timeout', excerpt: null });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('tells a shutdown abort from a timeout', async () => {
    const stop = new AbortController();
    const pending = transport(request(`http://127.0.0.1:${port}/hang`, { signal: stop.signal }));
    setTimeout(() => stop.abort(), 50);
    expect((await pending).error).toBe('aborted');
  });

  it('names a refused connection', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(await transport(request(`http://127.0.0.1:${closed}/hook`))).toEqual({ status: null, error: 'connection_refused', excerpt: null });
  });
});

describe('live mode (PAYRAIL_MODE=live)', () => {
  it('sends nothing over plain http', async () => {
    const transport = webhookTransport({ allow_private: true, https_only: true });
    const before = connections;
    expect(await transport(request(`http://127.0.0.1:${port}/hook`))).toEqual({ status: null, error: 'https_required', excerpt: null });
    expect(connections).toBe(before);
  });
});

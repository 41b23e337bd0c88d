import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { openRaw, within } from '../support/raw-http.js';
import { waitFor } from '../support/webhook-receiver.js';

/**
 * What one client can hold of the server and what the parsers accept: request timeouts (slowloris),
 * aborted uploads, bodies nested past any parameter, metadata keys JavaScript treats specially, and
 * the headers every answer carries.
 */

const REQUEST_TIMEOUT_MS = 1_000;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
let t: TestPlatform;
let auth: string;
beforeAll(async () => {
  t = await startTestPlatform({ http_request_timeout_ms: REQUEST_TIMEOUT_MS, http_keep_alive_timeout_ms: KEEP_ALIVE_TIMEOUT_MS });
  auth = `Basic ${Buffer.from(`${t.secret_key}:`).toString('base64')}`;
});
afterAll(async () => {
  await t?.stop();
});

function post(path: string, body: string, content_type: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.url}${path}`, { method: 'POST', body, headers: { authorization: auth, 'content-type': content_type, ...headers } });
}

async function errorOf(response: Response): Promise<{ type: string; code: string; message: string; param?: string }> {
  return ((await response.json()) as { error: { type: string; code: string; message: string; param?: string } }).error;
}

describe('request timeouts', () => {
  it('close a socket whose body never arrives within the timeout, with a Stripe-shaped 408', async () => {
    const raw = await openRaw(t.url);
    raw.socket.write(
      `POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=slow`,
    );
    const closed_after_ms = await within(raw.closed, REQUEST_TIMEOUT_MS * 4);
    expect(closed_after_ms).not.toBe('pending');
    expect(closed_after_ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(raw.received()).toContain('"code":"request_timeout"');
    expect(raw.received()).toContain('"type":"invalid_request_error"');
    expect(raw.received().toLowerCase()).toContain('cache-control: no-store');
    const scrape = await (await fetch(t.platform.metrics_url!)).text();
    expect(scrape).toMatch(/^payrail_api_errors_total\{code="request_timeout"\} [1-9]/m);
    // The half-sent request is a client's failure: logged as a closed connection, never as our error.
    await waitFor('the abort is logged', () => t.logs.some((line) => line.includes('client closed the connection')));
    expect(t.logs.join('')).not.toContain('unexpected error');
  });

  it('close a socket whose headers never finish', async () => {
    const raw = await openRaw(t.url);
    raw.socket.write('GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const closed_after_ms = await within(raw.closed, REQUEST_TIMEOUT_MS * 4);
    expect(closed_after_ms).not.toBe('pending');
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('close an idle keep-alive socket after the keep-alive timeout', async () => {
    const raw = await openRaw(t.url);
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await waitFor('the answer', () => raw.received().includes('"status":"ok"'));
    const answered_ms = Date.now();
    expect(await within(raw.closed, KEEP_ALIVE_TIMEOUT_MS * 4)).not.toBe('pending');
    expect(Date.now() - answered_ms).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
  });

  it('an upload the client aborts is logged as a closed connection, not as an api_error', async () => {
    const raw = await openRaw(t.url);
    const logged_before = t.logs.length;
    // `Expect: 100-continue`: the server's 100 says the request reached the app, which now reads the body.
    raw.socket.write(
      `POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n`,
    );
    await waitFor('the server asks for the body', () => raw.received().startsWith('HTTP/1.1 100'));
    raw.socket.write('{"email":');
    raw.socket.destroy();
    await waitFor('the abort is logged', () => t.logs.slice(logged_before).some((line) => line.includes('client closed the connection')));
    const lines = t.logs.slice(logged_before).join('');
    expect(lines).not.toContain('api_error');
    expect(lines).not.toContain('"level":50');
  });
});

describe('requests that are not HTTP', () => {
  it('get a Stripe-shaped 400 and a closed socket', async () => {
    for (const garbage of ['NOT HTTP AT ALL\r\n\r\n', `GET /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n`]) {
      const raw = await openRaw(t.url);
      raw.socket.write(garbage);
      expect(await within(raw.closed, 2_000)).not.toBe('pending');
      expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(raw.received().split('\r\n\r\n', 2)[1]!) as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'body_invalid' });
    }
  });
});

describe('bodies nested deeper than any parameter', () => {
  it('a deeply nested JSON body with an Idempotency-Key is a 400 and stores nothing under the key', async () => {
    for (const body of ['['.repeat(100_000) + ']'.repeat(100_000), `{"metadata":${'{"a":'.repeat(20_000)}"x"${'}'.repeat(20_000)}}`]) {
      const response = await post('/v1/customers', body, 'application/json', { 'idempotency-key': 'deep-json' });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', code: 'body_invalid' });
    }
    // The key is still free: a proper request under it runs (no replay of an error, no idempotency_error).
    const created = await post('/v1/customers', JSON.stringify({ email: 'deep@example.com' }), 'application/json', { 'idempotency-key': 'deep-json' });
    expect(created.status).toBe(200);
    expect(((await created.json()) as { email: string }).email).toBe('deep@example.com');
  });

  it('a deeply nested form body is a 400 body_invalid', async () => {
    for (const body of [`metadata${'[a]'.repeat(5_000)}=x`, `expand${'[]'.repeat(5_000)}=x`, `a${'[b]'.repeat(20)}=x`]) {
      const response = await post('/v1/customers', body, 'application/x-www-form-urlencoded', { 'idempotency-key': `deep-form-${body.length}` });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error' });
    }
  });
});

describe('metadata keys JavaScript treats specially', () => {
  const SPECIAL = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

  it('round-trip as plain keys from a form body, without touching any prototype', async () => {
    const form = SPECIAL.map((key, i) => `metadata[${key}]=v${i}`).join('&');
    const response = await post('/v1/customers', form, 'application/x-www-form-urlencoded');
    expect(response.status).toBe(200);
    const created = (await response.json()) as { id: string; metadata: Record<string, string> };
    expect(Object.keys(created.metadata).sort()).toEqual([...SPECIAL].sort());
    expect(JSON.stringify(created.metadata)).toContain('"__proto__":"v2"');
    const retrieved = (await (await fetch(`${t.url}/v1/customers/${created.id}`, { headers: { authorization: auth } })).json()) as { metadata: unknown };
    expect(retrieved.metadata).toEqual(created.metadata);

    // An update deletes and sets such keys like any other.
    const updated = await post(`/v1/customers/${created.id}`, 'metadata[__proto__]=&metadata[constructor]=changed', 'application/x-www-form-urlencoded');
    const after = ((await updated.json()) as { metadata: Record<string, string> }).metadata;
    expect(Object.keys(after)).not.toContain('__proto__');
    expect(after.constructor).toBe('changed');
  });

  it('round-trip from a JSON body too', async () => {
    const metadata = Object.fromEntries(SPECIAL.map((key, i) => [key, `j${i}`]));
    const response = await post('/v1/customers', JSON.stringify({ metadata }), 'application/json');
    expect(response.status).toBe(200);
    const created = (await response.json()) as { metadata: Record<string, string> };
    expect(Object.entries(created.metadata).sort()).toEqual(Object.entries(metadata).sort());
  });

  it('a top-level __proto__ parameter is an unknown parameter, not a prototype', async () => {
    const response = await post('/v1/customers', '__proto__[email]=x@example.com', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'parameter_unknown', param: '__proto__' });
  });

  it('no body reaches a prototype (the platform runs in this process, so pollution would show here)', async () => {
    const attempts = [
      post('/v1/customers', 'metadata[__proto__][polluted]=yes', 'application/x-www-form-urlencoded'),
      post('/v1/customers', '__proto__[polluted]=yes&constructor[prototype][polluted]=yes', 'application/x-www-form-urlencoded'),
      post('/v1/customers', '{"__proto__":{"polluted":"yes"},"metadata":{"__proto__":{"polluted":"yes"}}}', 'application/json'),
      post('/v1/customers', '{"constructor":{"prototype":{"polluted":"yes"}}}', 'application/json'),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(400);
      expect((await errorOf(response)).type).toBe('invalid_request_error');
    }
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('what the parsers refuse rather than misread', () => {
  it('a compressed body is a 415 before it is read', async () => {
    const response = await post('/v1/customers', 'email=zip@example.com', 'application/x-www-form-urlencoded', { 'content-encoding': 'gzip' });
    expect(response.status).toBe(415);
    expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', code: 'content_type_unsupported' });
  });

  it('query parameters named like prototype properties are unknown parameters, not dropped', async () => {
    for (const [query, param] of [
      ['constructor[prototype][x]=1', 'constructor'],
      ['__proto__[limit]=5', '__proto__'],
      ['toString=1', 'toString'],
    ]) {
      const response = await fetch(`${t.url}/v1/customers?${query}`, { headers: { authorization: auth } });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'parameter_unknown', param });
    }
    // A smuggled stand-in is only ever an unknown parameter too, and the process lives on.
    const smuggled = await fetch(`${t.url}/v1/customers?%00__proto__%00=1`, { headers: { authorization: auth } });
    expect(smuggled.status).toBe(400);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});

describe('headers on every response', () => {
  it('API answers, errors, router failures and health checks are not cached, sniffed or framed', async () => {
    const responses = [
      await fetch(`${t.url}/v1/customers`, { headers: { authorization: auth } }),
      await fetch(`${t.url}/v1/customers`),
      await fetch(`${t.url}/v1/nothing_here`, { headers: { authorization: auth } }),
      await post('/v1/customers', '{"a":', 'application/json'),
      await fetch(`${t.url}/v1/customers/${'x'.repeat(600)}`, { headers: { authorization: auth } }),
      await fetch(`${t.url}/healthz`),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 400, expect.any(Number), 200]);
    for (const response of responses) {
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('the connection cap', () => {
  const MAX_CONNECTIONS = 3;
  let capped: TestPlatform;
  beforeAll(async () => {
    capped = await startTestPlatform({ http_max_connections: MAX_CONNECTIONS });
  });
  afterAll(async () => {
    await capped?.stop();
  });

  it('closes connections past the cap at once, and accepts again when one closes', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => openRaw(capped.url)));
    const extra = await openRaw(capped.url);
    expect(await within(extra.closed, 2_000)).not.toBe('pending');
    expect(extra.received()).toBe('');
    const scrape = await (await fetch(capped.platform.metrics_url!)).text();
    expect(Number(/^payrail_http_connections_refused_total (\d+)/m.exec(scrape)?.[1])).toBeGreaterThanOrEqual(1);
    // The held ones still work.
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('a held connection is answered', () => held[0]!.received().startsWith('HTTP/1.1 200'));

    held[1]!.socket.destroy();
    await held[1]!.closed;
    await waitFor('a new connection is accepted', async () => (await fetch(`${capped.url}/healthz`).catch(() => undefined))?.status === 200);
    for (const connection of held) connection.socket.destroy();
  });
});

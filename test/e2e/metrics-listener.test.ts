import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** `/metrics` is never public on the API port: a listener of its own by default, or the API port behind a bearer token. */

const TOKEN = 'metrics-token-0123456789abcdef0123456789abcdef';
let own_listener: TestPlatform;
let with_token: TestPlatform;
beforeAll(async () => {
  own_listener = await startTestPlatform({}, { metrics: true });
  with_token = await startTestPlatform({ metrics_token: TOKEN }, { metrics: true });
});
afterAll(async () => {
  await own_listener?.stop();
  await with_token?.stop();
});

describe('/metrics', () => {
  it('by default is served on a listener of its own, not on the API port', async () => {
    expect((await fetch(`${own_listener.url}/metrics`)).status).toBe(404);
    const metrics_url = own_listener.platform.metrics_url;
    expect(metrics_url).toBeDefined();
    expect(new URL(metrics_url!).port).not.toBe(new URL(own_listener.url).port);
    const scrape = await fetch(metrics_url!);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^payrail_http_request_duration_seconds_count\{/m);
    // The listener serves nothing else.
    expect((await fetch(metrics_url!.replace('/metrics', '/v1/customers'))).status).toBe(404);
  });

  it('with PAYRAIL_METRICS_TOKEN is served on the API port only to scrapes bearing the token', async () => {
    expect(with_token.platform.metrics_url).toBe(`${with_token.url}/metrics`);
    const anonymous = await fetch(`${with_token.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await fetch(`${with_token.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    const scrape = await fetch(`${with_token.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('cache-control')).toBe('no-store');
    expect(await scrape.text()).toContain('payrail_http_request_duration_seconds');
  });
});

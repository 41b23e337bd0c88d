import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { ProbedOperation } from '../../scripts/stripe-coverage.mjs';
import { SPEC_FILE, probeCoverage, specOperations, summarize } from '../../scripts/stripe-coverage.mjs';

const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as { paths: Record<string, unknown> };

let t: TestPlatform;
let results: ProbedOperation[];
beforeAll(async () => {
  t = await startTestPlatform();
  results = await probeCoverage(t.url, t.secret_key, spec);
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

const served = (method: string, path: string): boolean | undefined => results.find((r) => r.method === method && r.path === path)?.served;

describe('the Stripe operation coverage sweep', () => {
  it('asks about every operation in the spec, once', () => {
    const operations = specOperations(spec);
    expect(results).toHaveLength(operations.length);
    expect(new Set(results.map((r) => `${r.method} ${r.path}`)).size).toBe(operations.length);
  });

  it('tells a served operation from one Payrail does not have', () => {
    expect(served('POST', '/v1/payment_intents')).toBe(true);
    expect(served('GET', '/v1/payment_intents/{intent}')).toBe(true);
    expect(served('POST', '/v1/payment_intents/{intent}/confirm')).toBe(true);
    expect(served('GET', '/v1/issuing/cards')).toBe(false);
    expect(served('DELETE', '/v1/subscription_items/{item}')).toBe(true);
    expect(served('POST', '/v1/transfers')).toBe(true);
    expect(served('POST', '/v1/topups')).toBe(false);
  });

  it('sums the figures per resource to the total', () => {
    const summary = summarize(results);
    expect(summary.total).toBe(results.length);
    expect(summary.resources.reduce((sum, r) => sum + r.served, 0)).toBe(summary.served);
    expect(summary.served).toBe(results.filter((r) => r.served).length);
  });

  it('matches the figure the README states, so it never goes stale', () => {
    const { served: count, total } = summarize(results);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`serves ${count} of Stripe's ${total} operations (${Math.round((100 * count) / total)} %)`);
  });

  it('stores nothing: every probe carries a parameter no route accepts', async () => {
    expect((await t.stripe.customers.list({ limit: 100 })).data).toHaveLength(0);
    expect((await t.stripe.paymentIntents.list({ limit: 100 })).data).toHaveLength(0);
    expect((await t.stripe.webhookEndpoints.list({ limit: 100 })).data).toHaveLength(0);
  });
});

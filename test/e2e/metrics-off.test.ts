import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { metrics } from '../../src/platform/metrics.js';

/** PAYRAIL_METRICS=off: no /metrics route and nothing recorded (its own file: the registry is per process). */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { metrics: false });
});
afterAll(async () => {
  await t?.stop();
});

describe('metrics off', () => {
  it('serves no /metrics and records nothing, while payments work as usual', async () => {
    expect(metrics.enabled).toBe(false);
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(t.platform.metrics_url).toBeUndefined();
    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(404);
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/^payrail_payments_total\{/m);
    expect(text).not.toMatch(/^payrail_http_request_duration_seconds_count\{/m);
    expect(text).not.toMatch(/^nodejs_eventloop_lag_seconds/m);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';

/**
 * What happens after the request, seen by an operator: the webhook delivery joins the trace of the
 * API request that caused it, and the consumers' lag, the ledger's posting lag and webhook deliveries
 * show in /metrics.
 */
const exporter = new InMemorySpanExporter();
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
let t: TestPlatform;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestPlatform({}, { trace_exporter: exporter });
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
});

async function scrape(): Promise<string> {
  return (await fetch(t.platform.metrics_url ?? `${t.url}/metrics`)).text();
}

/** The value of one sample line, e.g. `payrail_x_total{outcome="succeeded"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('after the request', () => {
  it('links the webhook delivery to the API request’s trace and counts it in /metrics', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['payment_intent.succeeded'] });
    receiver.secret = endpoint.secret ?? '';
    const before = await scrape();

    const response = await fetch(`${t.url}/v1/payment_intents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.secret_key}`,
        'content-type': 'application/x-www-form-urlencoded',
        traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`,
      },
      body: 'amount=2100&currency=usd&payment_method=pm_card_visa&confirm=true',
    });
    const intent = (await response.json()) as { id: string };
    await waitFor('the webhook delivered', () => receiver.delivered().some((event) => (event.data.object as { id?: string }).id === intent.id));

    await waitFor('the delivery span exported', () => exporter.getFinishedSpans().some((span) => span.name === 'webhooks.deliver'));
    const delivery = exporter.getFinishedSpans().find((span) => span.name === 'webhooks.deliver');
    expect(delivery?.spanContext().traceId).toBe(TRACE_ID);
    expect(delivery?.attributes['payrail.webhook_endpoint_id']).toBe(endpoint.id);

    await waitFor(
      'the ledger posting counted',
      async () => sample(await scrape(), 'payrail_ledger_posting_lag_seconds_count') > sample(before, 'payrail_ledger_posting_lag_seconds_count'),
    );
    const after = await scrape();
    expect(sample(after, 'payrail_webhook_deliveries_total{outcome="succeeded"}')).toBe(
      sample(before, 'payrail_webhook_deliveries_total{outcome="succeeded"}') + 1,
    );
    expect(sample(after, 'payrail_consumer_events_total{consumer="ledger",result="applied"}')).toBeGreaterThan(
      sample(before, 'payrail_consumer_events_total{consumer="ledger",result="applied"}'),
    );
    expect(after).toMatch(/^payrail_consumer_lag_events\{consumer="ledger"\} \d+$/m);
    // With NATS_URL set, webhooks are consumed from JetStream, which reports no outbox lag of its own.
    if (t.platform.events.binding === 'embedded') expect(after).toMatch(/^payrail_consumer_lag_events\{consumer="webhooks"\} \d+$/m);
  });
});

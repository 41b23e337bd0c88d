import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest, AuthorizeResult } from '../../src/services/connectors/domain/port.js';
import { metrics, metricsEnabledIn } from '../../src/platform/metrics.js';
import { tracingActive } from '../../src/platform/tracing.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

/**
 * A scripted run against the whole platform, then a scrape of /metrics: every counter must have moved
 * by exactly what the script did. The registry is per process, so the test compares scrapes before
 * and after rather than absolute values.
 */

/** Amounts the test processor treats specially; everything else goes to the sandbox. */
const UNREACHABLE_AMOUNT = 4040;
const SLOW_AMOUNT = 3030;
const SLOW_MS = 600;

/** The sandbox, except that one amount gets no answer (an outage) and one takes a while. */
class FlakyProcessor extends SandboxWrapper {
  override readonly name = 'flaky';
  override async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    if (request.amount === UNREACHABLE_AMOUNT) throw new Error('processor unreachable: connect ETIMEDOUT');
    if (request.amount === SLOW_AMOUNT) await sleep(SLOW_MS);
    return super.authorize(request);
  }
}

// --- reading the exposition format ---

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) labels[key as string] = (raw as string).replace(/\\(.)/g, '$1');
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every series of `name` whose labels include `labels`; 0 when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))
    .reduce((total, sample) => total + sample.value, 0);
}

let t: TestPlatform;

beforeAll(async () => {
  const processor = new FlakyProcessor();
  t = await startTestPlatform({}, { connector: processor, metrics: true });
  processor.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
});
afterAll(async () => {
  await t?.stop();
});

/** How long the metrics reuse one lag reading (LAG_READING_REUSE_MS in src/platform/scrape-gauges.ts). */
const LAG_READING_REUSE_MS = 1_000;

/** Until every consumer of the platform reports nothing behind (bounded). */
async function consumersCaughtUp(timeout_ms = 15_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  // Lag readings are reused for a second: start past any reading taken before the last events.
  await new Promise((resolve) => setTimeout(resolve, LAG_READING_REUSE_MS + 100));
  for (;;) {
    const lags = (await scrape()).samples.filter((sample) => sample.name === 'payrail_consumer_lag_events');
    if (lags.length > 0 && lags.every((sample) => sample.value === 0)) return;
    if (Date.now() > deadline) throw new Error('consumers did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function scrape(): Promise<{ text: string; samples: Sample[]; content_type: string }> {
  const response = await fetch(t.platform.metrics_url ?? `${t.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parse(text), content_type: response.headers.get('content-type') ?? '' };
}

/** The fields of an API answer these tests read: an object's id and status, or a Stripe error. */
interface ApiBody {
  id?: string;
  status?: string;
  error?: { code?: string; decline_code?: string };
}

async function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: ApiBody }> {
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as ApiBody };
}

const pay = (payment_method: string, amount = 2000, headers: Record<string, string> = {}) =>
  post('/v1/payment_intents', { amount: String(amount), currency: 'usd', payment_method, confirm: 'true' }, headers);

describe('metrics after a scripted run', () => {
  it('counts every outcome, error, replay and conflict exactly', async () => {
    const before = (await scrape()).samples;

    // 2 payments that succeed, 3 insufficient_funds declines, 1 lost card.
    for (let i = 0; i < 2; i++) expect((await pay('pm_card_visa')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const declined = await pay('pm_card_visa_chargeDeclinedInsufficientFunds');
      expect(declined.status).toBe(402);
      expect(declined.body.error?.decline_code).toBe('insufficient_funds');
    }
    expect((await pay('pm_card_visa_chargeDeclinedLostCard')).status).toBe(402);
    // 1 blocked by risk rules (Stripe's always-blocked test card), never sent to the processor.
    const blocked_card = await post('/v1/payment_methods', {
      type: 'card',
      'card[number]': '4100000000000019',
      'card[exp_month]': '12',
      'card[exp_year]': '2034',
    });
    expect(blocked_card.status).toBe(200);
    expect((await pay(blocked_card.body.id as string)).status).toBe(402);
    // 1 that needs 3-D Secure, which the customer then fails.
    const challenged = await pay('pm_card_authenticationRequired');
    expect(challenged.body.status).toBe('requires_action');
    expect((await post(`/v1/test_helpers/payment_intents/${challenged.body.id}/authenticate`, { outcome: 'failed' })).status).toBe(200);
    // 1 the processor never answers: a 500, a failed payment and a processor error.
    expect((await pay('pm_card_visa', UNREACHABLE_AMOUNT)).status).toBe(500);
    // Idempotency: a success, its replay, and the same key with other parameters.
    expect((await pay('pm_card_visa', 2000, { 'idempotency-key': 'metrics-k1' })).status).toBe(200);
    const replay = await fetch(`${t.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'metrics-k1' },
      body: 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true',
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await replay.text();
    expect((await pay('pm_card_visa', 2100, { 'idempotency-key': 'metrics-k1' })).status).toBe(400);
    // A key still in flight: the slow first request succeeds, the second gets 409 idempotency_key_in_use.
    const slow = pay('pm_card_visa', SLOW_AMOUNT, { 'idempotency-key': 'metrics-k2' });
    await sleep(SLOW_MS / 3);
    const in_use = await pay('pm_card_visa', SLOW_AMOUNT, { 'idempotency-key': 'metrics-k2' });
    expect(in_use.status).toBe(409);
    expect(in_use.body.error?.code).toBe('idempotency_key_in_use');
    expect((await slow).status).toBe(200);
    // A validation error and an unknown route.
    expect((await post('/v1/payment_intents', { currency: 'usd' })).status).toBe(400);
    expect((await fetch(`${t.url}/v1/nowhere`, { headers: { authorization: `Bearer ${t.secret_key}` } })).status).toBe(404);

    const { samples: after, text, content_type } = await scrape();
    expect(content_type).toMatch(/^text\/plain; version=0\.0\.4/);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    // Payment outcomes.
    expect(delta('payrail_payments_total', { outcome: 'succeeded' })).toBe(4);
    expect(delta('payrail_payments_total', { outcome: 'declined', decline_code: 'insufficient_funds' })).toBe(3);
    expect(delta('payrail_payments_total', { outcome: 'declined', decline_code: 'lost_card' })).toBe(1);
    expect(delta('payrail_payments_total', { outcome: 'declined', decline_code: 'authentication_failure' })).toBe(1);
    expect(delta('payrail_payments_total', { outcome: 'declined' })).toBe(5);
    expect(delta('payrail_payments_total', { outcome: 'blocked' })).toBe(1);
    expect(delta('payrail_payments_total', { outcome: 'failed' })).toBe(1);
    expect(delta('payrail_payments_total', { outcome: 'requires_action' })).toBe(1);

    // Requests by route template and status: 2 + 1 (3DS) + k1 + its replay + k2 answered 200.
    const intents = { method: 'POST', route: '/v1/payment_intents' };
    expect(delta('payrail_http_request_duration_seconds_count', { ...intents, status_code: '200' })).toBe(6);
    expect(delta('payrail_http_request_duration_seconds_count', { ...intents, status_code: '402' })).toBe(5);
    expect(delta('payrail_http_request_duration_seconds_count', { ...intents, status_code: '500' })).toBe(1);
    expect(delta('payrail_http_request_duration_seconds_count', { ...intents, status_code: '400' })).toBe(2);
    expect(delta('payrail_http_request_duration_seconds_count', { ...intents, status_code: '409' })).toBe(1);
    expect(delta('payrail_http_request_duration_seconds_count', { route: '/v1/test_helpers/payment_intents/:id/authenticate' })).toBe(1);
    expect(delta('payrail_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(1);
    // The histogram's +Inf bucket equals its count; the slow request landed above 0.5 s.
    expect(delta('payrail_http_request_duration_seconds_bucket', { ...intents, status_code: '200', le: '+Inf' })).toBe(6);
    expect(delta('payrail_http_request_duration_seconds_bucket', { ...intents, status_code: '200', le: '0.5' })).toBe(5);

    // Errors by code, idempotency replays and conflicts.
    expect(delta('payrail_api_errors_total', { code: 'api_error' })).toBe(1);
    expect(delta('payrail_api_errors_total', { code: 'parameter_missing' })).toBe(1);
    expect(delta('payrail_api_errors_total', { code: 'idempotency_error' })).toBe(1);
    expect(delta('payrail_api_errors_total', { code: 'idempotency_key_in_use' })).toBe(1);
    expect(delta('payrail_idempotency_requests_total', { result: 'replayed' })).toBe(1);
    expect(delta('payrail_idempotency_requests_total', { result: 'mismatch' })).toBe(1);
    expect(delta('payrail_idempotency_requests_total', { result: 'in_use' })).toBe(1);

    // Processor calls: every authorize but the blocked one and the replay; one without an answer.
    const flaky = { processor: 'flaky', operation: 'authorize' };
    expect(delta('payrail_processor_request_duration_seconds_count', { ...flaky, result: 'ok' })).toBe(9);
    expect(delta('payrail_processor_request_duration_seconds_count', { ...flaky, result: 'error' })).toBe(1);
    expect(delta('payrail_processor_errors_total', flaky)).toBe(1);
    expect(delta('payrail_processor_request_duration_seconds_count', { processor: 'flaky', operation: 'complete_authentication' })).toBe(1);
    expect(value(after, 'payrail_processor_request_duration_seconds_sum', { ...flaky, result: 'ok' })).toBeGreaterThanOrEqual(SLOW_MS / 1000);

    // Labels are bounded: no object ids, no merchant ids, no keys anywhere in the exposition.
    expect(text).not.toMatch(/\b(?:pi|ch|pm|cus|evt|req|acct|re|txn|seti)_[0-9A-Za-z]{12,}/);
    expect(text).not.toContain('sk_test_');
    expect(text).not.toContain('metrics-k1');
  });

  it('reports database pool saturation, the outbox size, event-loop lag and process metrics', async () => {
    const count = async () => Number((await t.platform.database.pool.query<{ n: string }>('SELECT count(*) AS n FROM events.outbox')).rows[0]?.n);
    const counted_before = await count();
    const { samples } = await scrape();
    const counted_after = await count();
    expect(value(samples, 'payrail_db_pool_max_connections')).toBe(10);
    const total = value(samples, 'payrail_db_pool_connections');
    expect(total).toBeGreaterThanOrEqual(1);
    expect(total).toBeLessThanOrEqual(10);
    expect(value(samples, 'payrail_db_pool_idle_connections')).toBeLessThanOrEqual(total);
    expect(value(samples, 'payrail_db_pool_waiting_clients')).toBe(0);
    expect(counted_before).toBeGreaterThan(0);
    // Exact below the bound (background workers may write between the counts, never backwards).
    expect(value(samples, 'payrail_outbox_events')).toBeGreaterThanOrEqual(counted_before);
    expect(value(samples, 'payrail_outbox_events')).toBeLessThanOrEqual(counted_after);
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'process_open_fds',
      'nodejs_active_handles_total',
      'process_start_time_seconds',
      'nodejs_version_info',
    ]) {
      expect(
        samples.some((sample) => sample.name === name),
        name,
      ).toBe(true);
    }
    // Left out on purpose: its GC observer costs CPU on every request.
    expect(samples.some((sample) => sample.name.startsWith('nodejs_gc_duration_seconds'))).toBe(false);
  });

  it('exposes hooks for consumer lag, webhook deliveries and ledger posting lag', async () => {
    // The platform's own consumers must be done with earlier tests' events, or their postings and
    // deliveries would land in the counts below.
    await consumersCaughtUp();
    const before = (await scrape()).samples;
    const unregister = metrics.registerConsumerLag('ledger_test', async () => ({ events_behind: 7, seconds_behind: 3 }));
    const unregister_broken = metrics.registerConsumerLag('broken_test', async () => {
      throw new Error('lag query failed');
    });
    metrics.webhookDelivery('succeeded', 0.05);
    metrics.webhookDelivery('failed', 1.2);
    metrics.webhookDelivery('failed', 0.2);
    metrics.ledgerPostingLag(0.4);
    metrics.consumerEvents('ledger_test', 'applied', 5);
    metrics.consumerEvents('ledger_test', 'parked', 1);
    const after = (await scrape()).samples;
    unregister();
    unregister_broken();
    // A failed reading is counted during the scrape that tried it, so it shows from the next one.
    const later = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(value(after, 'payrail_consumer_lag_events', { consumer: 'ledger_test' })).toBe(7);
    expect(value(after, 'payrail_consumer_lag_seconds', { consumer: 'ledger_test' })).toBe(3);
    expect(after.some((sample) => sample.labels.consumer === 'broken_test')).toBe(false);
    expect(
      value(later, 'payrail_metrics_collect_errors_total', { collector: 'consumer_lag' }) -
        value(before, 'payrail_metrics_collect_errors_total', { collector: 'consumer_lag' }),
    ).toBe(1);
    expect(later.some((sample) => sample.labels.consumer === 'ledger_test' && sample.name.startsWith('payrail_consumer_lag'))).toBe(false);
    expect(delta('payrail_webhook_deliveries_total', { outcome: 'failed' })).toBe(2);
    expect(delta('payrail_webhook_deliveries_total', { outcome: 'succeeded' })).toBe(1);
    expect(delta('payrail_webhook_delivery_duration_seconds_count', { outcome: 'failed' })).toBe(2);
    expect(delta('payrail_ledger_posting_lag_seconds_count')).toBe(1);
    expect(delta('payrail_consumer_events_total', { consumer: 'ledger_test', result: 'applied' })).toBe(5);
    expect(delta('payrail_consumer_events_total', { consumer: 'ledger_test', result: 'parked' })).toBe(1);
  });

  it('is on unless PAYRAIL_METRICS=off, and tracing stays off without OTEL_* settings', () => {
    expect(metricsEnabledIn({})).toBe(true);
    expect(metricsEnabledIn({ PAYRAIL_METRICS: 'on' })).toBe(true);
    expect(metricsEnabledIn({ PAYRAIL_METRICS: 'off' })).toBe(false);
    expect(metricsEnabledIn({ PAYRAIL_METRICS: 'OFF ' })).toBe(false);
    expect(metricsEnabledIn({ PAYRAIL_METRICS: '0' })).toBe(false);
    expect(tracingActive()).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { traceExportersIn, tracedFromStored, tracingActive } from '../../src/platform/tracing.js';

/**
 * Traces with an in-memory exporter: one API request is one trace, from an upstream traceparent
 * through the request span, the payment attempt, the vault, risk, the processor and the database; the
 * outbox event carries the context so a consumer's span joins the same trace. No card data anywhere.
 */

const exporter = new InMemorySpanExporter();
let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform({}, { trace_exporter: exporter });
});
afterAll(async () => {
  await t?.stop();
});

const UPSTREAM_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const UPSTREAM_SPAN_ID = '00f067aa0ba902b7';
const CARD_NUMBER = '4242424242424242';
const CVC = '731';

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

/** Jobs that poll every second start traces of their own, whatever a request is doing meanwhile. */
const BACKGROUND_POLLS: ReadonlySet<string> = new Set(['processor.deliver_notifications']);

/** The spans apart from the traces a background poll started. */
function apartFromBackgroundPolls(spans: ReadableSpan[]): ReadableSpan[] {
  const polls = new Set(spans.filter((span) => BACKGROUND_POLLS.has(span.name) && parentOf(span) === undefined).map((span) => span.spanContext().traceId));
  return spans.filter((span) => !polls.has(span.spanContext().traceId));
}

/** The fields of an API answer these tests read. */
interface ApiBody {
  id?: string;
  latest_charge?: string | null;
}

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: ApiBody; request_id: string }> {
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as ApiBody, request_id: response.headers.get('request-id') ?? '' };
}

describe('tracing', () => {
  it('is on only when the OTEL_* variables ask for it', () => {
    expect(traceExportersIn({})).toEqual([]);
    expect(traceExportersIn({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(['otlp']);
    expect(traceExportersIn({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual([]);
    expect(traceExportersIn({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual(['otlp']);
    expect(traceExportersIn({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual(['otlp']);
    expect(traceExportersIn({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toEqual([]);
    expect(() => traceExportersIn({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/unsupported exporter zipkin/);
    expect(tracingActive()).toBe(true);
  });

  it('one confirm is one span tree: request → payments → vault, risk, processor → database', async () => {
    // A tokenized card, so the vault reads and decrypts it from the database during the confirm.
    const method = await post('/v1/payment_methods', 'type=card&card[number]=5555555555554444&card[exp_month]=12&card[exp_year]=2034');
    expect(method.status).toBe(200);
    exporter.reset();
    const paid = await post('/v1/payment_intents', `amount=2000&currency=usd&payment_method=${method.body.id}&confirm=true`, {
      traceparent: `00-${UPSTREAM_TRACE_ID}-${UPSTREAM_SPAN_ID}-01`,
      'idempotency-key': 'trace-confirm-1',
    });
    expect(paid.status).toBe(200);
    const finished = apartFromBackgroundPolls(exporter.getFinishedSpans());
    // One trace, continuing the upstream one.
    expect(new Set(finished.map((span) => span.spanContext().traceId))).toEqual(new Set([UPSTREAM_TRACE_ID]));
    // The request's own tree: the attempt's events are committed before the processor call, so a
    // consumer (webhooks, ledger) may already be working on them in this trace while the request runs.
    const spans = subtreeOf(
      finished,
      finished.find((span) => span.name === 'POST /v1/payment_intents'),
    );

    const request = spans.find((span) => span.name === 'POST /v1/payment_intents');
    expect(request?.kind).toBe(SpanKind.SERVER);
    expect(parentOf(request!)).toBe(UPSTREAM_SPAN_ID);
    expect(request?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/payment_intents',
      'http.response.status_code': 200,
      'payrail.request_id': paid.request_id,
    });
    expect(String(request?.attributes['payrail.merchant_id'])).toMatch(/^acct_/);

    const attempt = spans.find((span) => span.name === 'payments.attempt');
    expect(parentOf(attempt!)).toBe(idOf(request!));
    expect(attempt?.attributes['payrail.payment_intent_id']).toBe(paid.body.id);
    for (const name of ['vault.card_for_payment', 'risk.assess', 'processor.authorize']) {
      const child = spans.find((span) => span.name === name);
      expect(child, name).toBeDefined();
      expect(parentOf(child!), name).toBe(idOf(attempt!));
    }
    const processor = spans.find((span) => span.name === 'processor.authorize')!;
    expect(processor.attributes).toMatchObject({ 'payrail.processor': 'sandbox', 'payrail.charge_id': paid.body.latest_charge, 'payrail.amount': 2000 });

    // Database spans: the vault's read under the vault span, the attempt's record and its commit under
    // the attempt span; every one of them inside this trace, none without a parent.
    const db = spans.filter((span) => span.name.startsWith('db '));
    expect(db.length).toBeGreaterThanOrEqual(2);
    const vault = spans.find((span) => span.name === 'vault.card_for_payment')!;
    const span_ids = new Set(spans.map(idOf));
    for (const span of db) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span_ids.has(parentOf(span) ?? '') || parentOf(span) === UPSTREAM_SPAN_ID).toBe(true);
      expect(span.attributes['db.system.name']).toBe('postgresql');
    }
    expect(db.some((span) => parentOf(span) === idOf(vault))).toBe(true);
    // The attempt is recorded (the intent inserted as `processing`) before the processor hears of it:
    // its statement is sent before the processor span starts. (End times are not compared: a span's
    // end is taken in a callback that may run after the awaiting code has moved on.)
    const recorded = db.find(
      (span) => parentOf(span) === idOf(attempt!) && String(span.attributes['db.query.text']).includes('INSERT INTO payments.payment_intents'),
    );
    expect(recorded).toBeDefined();
    expect(startOf(recorded!)).toBeLessThan(startOf(processor));
    // Spans nest in time as well.
    for (const span of spans.filter((s) => s !== request)) {
      expect(span.startTime[0] * 1e9 + span.startTime[1]).toBeGreaterThanOrEqual(request!.startTime[0] * 1e9 + request!.startTime[1]);
    }
  });

  it('stores the trace context with each outbox event, and a consumer span joins the request trace', async () => {
    exporter.reset();
    const paid = await post('/v1/payment_intents', 'amount=2500&currency=usd&payment_method=pm_card_mastercard&confirm=true');
    const request = exporter.getFinishedSpans().find((span) => span.name === 'POST /v1/payment_intents')!;
    const trace_id = request.spanContext().traceId;

    const rows = await t.platform.database.pool.query<{ id: string; type: string; request: Record<string, string> }>(
      `SELECT id, type, request FROM events.outbox WHERE object_id = $1 OR data->'object'->>'payment_intent' = $1 ORDER BY seq`,
      [paid.body.id],
    );
    expect(rows.rows.map((row) => row.type)).toEqual(expect.arrayContaining(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']));
    for (const row of rows.rows) {
      expect(row.request.id).toBe(request.attributes['payrail.request_id']);
      expect(row.request.traceparent).toMatch(new RegExp(`^00-${trace_id}-[0-9a-f]{16}-01$`));
    }
    // Clients still see Stripe's event.request: id and idempotency_key only.
    const listed = await fetch(`${t.url}/v1/events?limit=3`, { headers: { authorization: `Bearer ${t.secret_key}` } });
    const events = ((await listed.json()) as { data: Array<{ request: Record<string, unknown> }> }).data;
    for (const event of events) expect(Object.keys(event.request).sort()).toEqual(['id', 'idempotency_key']);

    // What a consumer does with a stored event (ledger posting, webhook delivery): its span continues the trace.
    exporter.reset();
    const succeeded = rows.rows.find((row) => row.type === 'charge.succeeded')!;
    const seen = await tracedFromStored('ledger.post', succeeded.request, { 'payrail.event_id': succeeded.id }, async () => 'posted');
    expect(seen).toBe('posted');
    const consumer = exporter.getFinishedSpans().find((span) => span.name === 'ledger.post')!;
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.spanContext().traceId).toBe(trace_id);
    expect(parentOf(consumer)).toBe(succeeded.request.traceparent?.split('-')[2]);
    // An event stored without tracing starts a trace of its own rather than failing.
    await tracedFromStored('ledger.post', { id: 'req_x', idempotency_key: null }, {}, async () => undefined);
    await tracedFromStored('ledger.post', '{not json', {}, async () => undefined);
  });

  it('spans carry ids, never card data, even from requests that put a card number where an id goes', async () => {
    exporter.reset();
    const tokenized = await post('/v1/payment_methods', `type=card&card[number]=${CARD_NUMBER}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=${CVC}`);
    expect(tokenized.status).toBe(200);
    const paid = await post('/v1/payment_intents', `amount=1800&currency=usd&payment_method=${tokenized.body.id}&confirm=true`);
    expect(paid.status).toBe(200);
    await fetch(`${t.url}/v1/payment_methods/${CARD_NUMBER}`, { headers: { authorization: `Bearer ${t.secret_key}` } });
    await post('/v1/payment_intents', `amount=1800&currency=usd&payment_method=pm_card_visa&confirm=true&description=${CARD_NUMBER}`);
    const declined = await post('/v1/payment_intents', 'amount=1800&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true');
    expect(declined.status).toBe(402);

    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(10);
    const text = JSON.stringify(
      spans.map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events, resource: span.resource.attributes })),
    );
    expect(text).not.toContain(CARD_NUMBER);
    expect(text).not.toMatch(/42424242/);
    expect(text).not.toMatch(new RegExp(`(?<![0-9A-Za-z])${CVC}(?![0-9A-Za-z])`));
    expect(text).not.toContain(t.secret_key);
    const lookup = spans.find((span) => span.name === 'GET /v1/payment_methods/:id')!;
    expect(lookup.attributes['url.path']).toBe('/v1/payment_methods/************4242');
    // Failed spans say which error, not what it said.
    const failed = spans.filter((span) => span.status.code === SpanStatusCode.ERROR);
    for (const span of failed) expect(span.status.message ?? '').toMatch(/^[A-Za-z0-9_.]*$/);
  });
});

function startOf(span: ReadableSpan): number {
  return span.startTime[0] * 1e9 + span.startTime[1];
}

/** `root` and every span below it. */
function subtreeOf(spans: ReadableSpan[], root: ReadableSpan | undefined): ReadableSpan[] {
  if (!root) return [];
  const ids = new Set([idOf(root)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const span of spans) {
      const parent = parentOf(span);
      if (parent !== undefined && ids.has(parent) && !ids.has(idOf(span))) {
        ids.add(idOf(span));
        grew = true;
      }
    }
  }
  return spans.filter((span) => ids.has(idOf(span)));
}

import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Pool } from './db.js';
import { redactText } from './logger.js';

/**
 * OpenTelemetry traces, off by default. The standard variables turn them on: `OTEL_TRACES_EXPORTER`
 * (`otlp`, `console`; `none` keeps them off) or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `OTEL_SDK_DISABLED=true` wins over both. The exporter reads
 * the other `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) itself; `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER`(`_ARG`) are honoured.
 *
 * While tracing is off every helper here calls straight through: the SDK is not even loaded. Spans
 * carry ids (request, merchant, intent, charge) as attributes, never card data, values or messages:
 * a failed span records the error's code or class only.
 */

const TRACER_NAME = 'payrail';
/** Statement text in a span is cut to this length (it is code, never values). */
const STATEMENT_TEXT_MAX = 500;

interface TracingState {
  shutdown(): Promise<void>;
  flush(): Promise<void>;
}

let state: TracingState | undefined;

export interface TracingHandle {
  /** Flushes pending spans. */
  flush(): Promise<void>;
  /** Flushes and stops; helpers call straight through again afterwards. */
  shutdown(): Promise<void>;
}

export type TraceExporterName = 'otlp' | 'console';

/** Which exporters the environment asks for; empty means tracing stays off. */
export function traceExportersIn(env: NodeJS.ProcessEnv): TraceExporterName[] {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return [];
  const listed = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (listed.length > 0) {
    const unknown = listed.filter((name) => !['otlp', 'console', 'none'].includes(name));
    if (unknown.length > 0) throw new Error(`OTEL_TRACES_EXPORTER: unsupported exporter ${unknown.join(', ')} (use otlp, console or none)`);
    return listed.includes('none') ? [] : (listed as TraceExporterName[]);
  }
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? ['otlp'] : [];
}

export function tracingActive(): boolean {
  return state !== undefined;
}

/**
 * Starts tracing for this process when the environment asks for it, or with `exporter` (tests pass an
 * in-memory one; spans are then exported one by one as they end). Returns undefined when tracing stays
 * off, or when it is already running in this process (its first starter owns it).
 */
export async function startTracing(options: { env?: NodeJS.ProcessEnv; exporter?: SpanExporter } = {}): Promise<TracingHandle | undefined> {
  const env = options.env ?? process.env;
  const exporters = options.exporter ? [] : traceExportersIn(env);
  if (state || (!options.exporter && exporters.length === 0)) return undefined;
  const sdk = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const resources = await import('@opentelemetry/resources');
  const processors = [];
  if (options.exporter) processors.push(new sdk.SimpleSpanProcessor({ exporter: options.exporter }));
  if (exporters.includes('otlp')) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    // Exported every second (not the default 5 s), so a stop loses little even if it cannot flush.
    processors.push(new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: 1_000 }));
  }
  if (exporters.includes('console')) processors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }));
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'payrail' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({ resource, sampler: samplerFrom(sdk, env), spanProcessors: processors });
  const context_manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(context_manager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const current: TracingState = {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      if (state === current) state = undefined;
      // A collector that is down must not fail the process's shutdown: the spans are lost, nothing else.
      await provider.shutdown().catch(() => {});
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
  state = current;
  return current;
}

type Sdk = typeof import('@opentelemetry/sdk-trace');

function samplerFrom(
  sdk: Sdk,
  env: NodeJS.ProcessEnv,
):
  | InstanceType<Sdk['ParentBasedSampler']>
  | InstanceType<Sdk['AlwaysOnSampler']>
  | InstanceType<Sdk['AlwaysOffSampler']>
  | InstanceType<Sdk['TraceIdRatioBasedSampler']> {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Marks a span failed with the error's code or class, never its message (it may echo input). */
function fail(span: Span, error: unknown): void {
  const code = (error as { code?: unknown }).code;
  const type = typeof code === 'string' && /^[A-Za-z0-9_.]{1,64}$/.test(code) ? code : ((error as Error)?.name ?? 'Error');
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** Runs `work` as the body of `span`: a throw marks the span failed; the span always ends. */
async function runInSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    fail(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `work` in a child span of the active one; without tracing, just runs it. */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (!state) return work();
  return tracer().startActiveSpan(name, { attributes }, (span) => runInSpan(span, work));
}

/** The synchronous twin of `traced`, for pure steps such as risk decisions. */
export function tracedSync<T>(name: string, attributes: Attributes, work: () => T): T {
  if (!state) return work();
  return tracer().startActiveSpan(name, { attributes }, (span) => {
    try {
      return work();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes (ids) to the active span, when there is one. */
export function annotate(attributes: Attributes): void {
  if (state) trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * The active trace context as W3C headers (`traceparent`, and `tracestate` when set), to be stored
 * with an outbox event; undefined without tracing or outside a span.
 */
export function traceContextCarrier(): { traceparent: string; tracestate?: string } | undefined {
  if (!state || !trace.getActiveSpan()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

/**
 * For consumers of stored events: runs `work` in a `CONSUMER` span whose parent is the trace context
 * stored with the event (its `request` json, or any object with `traceparent`), so the ledger posting
 * or webhook delivery appears in the trace of the API request that caused it. Without a stored context
 * the span starts a new trace; without tracing, `work` just runs.
 */
export function tracedFromStored<T>(name: string, stored: unknown, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (!state) return work();
  const carrier = storedCarrier(stored);
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, (span) => runInSpan(span, work));
}

function storedCarrier(stored: unknown): Record<string, string> | undefined {
  const value = typeof stored === 'string' ? safeParse(stored) : stored;
  if (typeof value !== 'object' || value === null) return undefined;
  const { traceparent, tracestate } = value as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const request_spans = new WeakMap<FastifyRequest, Span>();

/**
 * One `SERVER` span per API request, named by method and route template, continuing an incoming
 * `traceparent`. The rest of the request (hooks, body parsing, handler) runs inside it, so every span
 * the request causes is its child. Register before any other hook. Does nothing without tracing.
 */
export function registerRequestTracing(app: FastifyInstance): void {
  if (!state) return;
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer().startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          // A client may put anything where an id belongs: the logs' redaction applies here too.
          'url.path': redactText((request.url.split('?', 1)[0] ?? '').slice(0, 200)),
          'payrail.request_id': request.id,
        },
      },
      parent,
    );
    request_spans.set(request, span);
    const active = trace.setSpan(parent, span);
    // Body chunks arrive as events of the raw request: bind them, or parsing would leave the span.
    context.bind(active, request.raw);
    context.with(active, done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = request_spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (request.merchant_id) span.setAttribute('payrail.merchant_id', request.merchant_id);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      request_spans.delete(request);
    }
    done();
  });
}

const traced_clients = new WeakSet<object>();

/**
 * A `db.query` span for each query made while a span is active (queries of background pollers outside
 * any span start no trace). The statement's text is recorded, never its values.
 */
export function tracePool(pool: Pool): void {
  if (!state) return;
  pool.on('acquire', (client) => {
    if (traced_clients.has(client)) return;
    traced_clients.add(client);
    const target = client as unknown as { query: (...args: unknown[]) => unknown };
    const original = target.query;
    target.query = function tracedQuery(this: unknown, ...args: unknown[]): unknown {
      const config = args[0];
      if (
        !state ||
        !trace.getActiveSpan() ||
        (typeof config === 'object' && config !== null && typeof (config as { submit?: unknown }).submit === 'function')
      ) {
        return original.apply(this, args);
      }
      const query_text = typeof config === 'string' ? config : (config as { text?: unknown } | null | undefined)?.text;
      const text = typeof query_text === 'string' ? query_text : '';
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
      const name = typeof config === 'object' && config !== null ? (config as { name?: unknown }).name : undefined;
      const span = tracer().startSpan(`db ${operation}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          'db.query.text': redactText(text.slice(0, STATEMENT_TEXT_MAX)),
          ...(typeof name === 'string' ? { 'db.query.name': name } : {}),
        },
      });
      const finish = (error: unknown) => {
        if (error) fail(span, error);
        span.end();
      };
      const callback_index = args.findIndex((arg) => typeof arg === 'function');
      if (callback_index >= 0) {
        const callback = args[callback_index] as (error: unknown, result: unknown) => void;
        args[callback_index] = (error: unknown, result: unknown) => {
          finish(error);
          callback(error, result);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args) as Promise<unknown>;
      return result.then(
        (value) => {
          finish(undefined);
          return value;
        },
        (error: unknown) => {
          finish(error);
          throw error;
        },
      );
    };
  });
}

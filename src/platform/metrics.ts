import { Counter, Histogram, Registry } from 'prom-client';
import type { Pool } from './db.js';
import type { NatsDiscontinuityReason, PaymentOutcome } from './metric-labels.js';
import { NATS_DISCONTINUITY_REASONS, declineCodeLabel, errorCodeLabel } from './metric-labels.js';
import { registerProcessMetrics } from './process-metrics.js';
import type { LagReading } from './scrape-gauges.js';
import { ScrapeGauges } from './scrape-gauges.js';
import type { StandbyReading } from './replication.js';

/**
 * Prometheus metrics: one registry per process, served at `/metrics` by the API server. Every label
 * value comes from a bounded set (metric-labels.ts); ids and merchant ids never become labels.
 *
 * Recording functions are cheap no-ops until `enable()` (PAYRAIL_METRICS=off keeps them off), so code
 * anywhere can call them without knowing whether metrics are on. The values read at scrape time
 * (pools, outbox, consumer lag, NATS connections) are registered here and kept in scrape-gauges.ts.
 */

/** Seconds. 0.3 is a boundary so the p95 > 300 ms alert is exact, not interpolated. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10];
/** Lag of asynchronous work (consumers, ledger postings): seconds to minutes. */
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export class Metrics {
  readonly registry = new Registry();
  private active = false;
  private default_metrics = false;
  private readonly scrape = new ScrapeGauges(this.registry);

  private readonly http_duration = new Histogram({
    name: 'payrail_http_request_duration_seconds',
    help: 'API request latency, by method, route template and status code (_count is the request count).',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly api_errors = new Counter({
    name: 'payrail_api_errors_total',
    help: 'Error responses raised while handling a request, by error code (card declines are in payrail_payments_total).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly refused_connections = new Counter({
    name: 'payrail_http_connections_refused_total',
    help: 'Connections closed as they arrived because the API server already held PAYRAIL_HTTP_MAX_CONNECTIONS.',
    registers: [this.registry],
  });
  private readonly idempotency = new Counter({
    name: 'payrail_idempotency_requests_total',
    help: 'Requests with an Idempotency-Key that did not run: replayed (stored response), in_use (409, still in flight), mismatch (400, other parameters).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly payments = new Counter({
    name: 'payrail_payments_total',
    help: 'Payment attempts by outcome; declines also by decline code (empty for other outcomes).',
    labelNames: ['outcome', 'decline_code'] as const,
    registers: [this.registry],
  });
  private readonly settled_calls = new Counter({
    name: 'payrail_processor_calls_settled_total',
    help: 'Processor calls whose answer was lost (crash, timeout), settled later by kind and how: answered (the status inquiry found it), resent (a retry sent it again under the same id), never_reached (recorded as failed).',
    labelNames: ['kind', 'how'] as const,
    registers: [this.registry],
  });
  private readonly processor_duration = new Histogram({
    name: 'payrail_processor_request_duration_seconds',
    help: 'Card processor call latency, by processor, operation and result (ok or error).',
    labelNames: ['processor', 'operation', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly processor_errors = new Counter({
    name: 'payrail_processor_errors_total',
    help: 'Card processor calls that failed without an answer (error, timeout), by processor and operation.',
    labelNames: ['processor', 'operation'] as const,
    registers: [this.registry],
  });
  private readonly routing_tries = new Counter({
    name: 'payrail_routing_tries_total',
    help: 'Tries the router sent to connector accounts, by connector kind and outcome (unreachable and circuit-open tries cascade; unknown ones wait for an inquiry).',
    labelNames: ['connector', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhook_deliveries = new Counter({
    name: 'payrail_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (succeeded: 2xx from the endpoint; failed: anything else).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhook_duration = new Histogram({
    name: 'payrail_webhook_delivery_duration_seconds',
    help: 'Webhook delivery attempt latency, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly webhook_refused = new Counter({
    name: 'payrail_webhook_destinations_refused_total',
    help: 'Webhook attempts not sent because the destination is not a public address (loopback, private, link-local, …): a misconfigured endpoint or SSRF probing.',
    registers: [this.registry],
  });
  private readonly ledger_lag = new Histogram({
    name: 'payrail_ledger_posting_lag_seconds',
    help: 'Time from an event being written to its ledger posting.',
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });
  private readonly consumer_events = new Counter({
    name: 'payrail_consumer_events_total',
    help: 'Outbox events handled by consumers, by consumer and result (applied or parked in dead letters).',
    labelNames: ['consumer', 'result'] as const,
    registers: [this.registry],
  });
  private readonly nats_discontinuities = new Counter({
    name: 'payrail_nats_stream_discontinuities_total',
    help: 'Times a JetStream consumer found its stream re-created or truncated, or lacking events it had not applied (gap: those are replayed from the outbox).',
    labelNames: ['consumer', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly reconciliation_exceptions = new Counter({
    name: 'payrail_reconciliation_exceptions_total',
    help: "Differences reconciliation found between the processor's settlement reports and Payrail's books, by class and status (auto_fixed by a documented rule, or open for a person), each counted once however often its report is reconciled.",
    labelNames: ['class', 'status'] as const,
    registers: [this.registry],
  });

  get enabled(): boolean {
    return this.active;
  }

  /** Turns recording on, with the process metrics (event-loop lag, CPU, memory). Idempotent. */
  enable(): void {
    this.active = true;
    if (!this.default_metrics) {
      registerProcessMetrics(this.registry);
      this.default_metrics = true;
    }
  }

  /** Reports this pool's saturation and (the last bound pool) the outbox size; returns the unbind. */
  bindPool(pool: Pool): () => void {
    return this.scrape.bindPool(pool);
  }

  /** The exposition text for a scrape. */
  async exposition(): Promise<{ content_type: string; body: string }> {
    return { content_type: this.registry.contentType, body: await this.registry.metrics() };
  }

  observeRequest(method: string, route: string, status_code: number, elapsed_ms: number, replayed: boolean): void {
    if (!this.active) return;
    this.http_duration.observe({ method, route, status_code: String(status_code) }, elapsed_ms / 1000);
    if (replayed) this.idempotency.inc({ result: 'replayed' });
  }

  /** An error answered to a client (a thrown PayrailError, or `api_error` for an unexpected one). */
  connectionRefused(): void {
    if (this.active) this.refused_connections.inc();
  }

  apiError(code: string): void {
    if (!this.active) return;
    this.api_errors.inc({ code: errorCodeLabel(code) });
    if (code === 'idempotency_key_in_use') this.idempotency.inc({ result: 'in_use' });
    if (code === 'idempotency_error') this.idempotency.inc({ result: 'mismatch' });
  }

  payment(outcome: PaymentOutcome, decline_code?: string | null): void {
    if (!this.active) return;
    this.payments.inc({ outcome, decline_code: declineCodeLabel(outcome, decline_code) });
  }

  /** A processor call whose answer was lost, settled by asking (see payments/app/attempt.ts). */
  callSettled(kind: 'authorize' | 'refund', how: 'answered' | 'resent' | 'never_reached'): void {
    if (!this.active) return;
    this.settled_calls.inc({ kind, how });
  }

  /** One try of an attempt at one connector account (src/services/connectors/app/router.ts). */
  routingTry(connector: string, outcome: string): void {
    if (!this.active) return;
    this.routing_tries.inc({ connector, outcome });
  }

  processorCall(processor: string, operation: string, seconds: number, ok: boolean): void {
    if (!this.active) return;
    this.processor_duration.observe({ processor, operation, result: ok ? 'ok' : 'error' }, seconds);
    if (!ok) this.processor_errors.inc({ processor, operation });
  }

  webhookDelivery(outcome: 'succeeded' | 'failed', seconds: number): void {
    if (!this.active) return;
    this.webhook_deliveries.inc({ outcome });
    this.webhook_duration.observe({ outcome }, seconds);
  }

  webhookDestinationRefused(): void {
    if (!this.active) return;
    this.webhook_refused.inc();
  }

  ledgerPostingLag(seconds: number): void {
    if (!this.active) return;
    this.ledger_lag.observe(Math.max(0, seconds));
  }

  consumerEvents(consumer: string, result: 'applied' | 'parked', count: number): void {
    if (!this.active || count <= 0) return;
    this.consumer_events.inc({ consumer, result }, count);
  }

  /** New reconciliation exceptions of a class and status (settlement/app/reconcile.ts); `class` comes from its fixed list. */
  reconciliationExceptions(cls: string, status: 'auto_fixed' | 'open', count: number): void {
    if (!this.active || count <= 0) return;
    this.reconciliation_exceptions.inc({ class: cls, status }, count);
  }

  /** Reads the age in seconds of the oldest unsettled processor call at scrape time; returns the unregister. */
  registerUnsettledCalls(read: () => Promise<number>): () => void {
    return this.scrape.registerUnsettledCalls(read);
  }

  /** Reads the primary's standbys and their lag at scrape time (platform/replication.ts); returns the unregister. */
  registerReplication(read: () => Promise<StandbyReading[]>): () => void {
    return this.scrape.registerReplication(read);
  }

  /** Reports a NATS connection's state at scrape time; returns the unregister. */
  registerNatsLink(stream: string, connected: () => boolean): () => void {
    return this.scrape.registerNatsLink(stream, connected);
  }

  /** Starts a JetStream consumer's discontinuity counts at 0, so its first one shows as an increase. */
  natsConsumerStarted(consumer: string): void {
    if (!this.active) return;
    for (const reason of NATS_DISCONTINUITY_REASONS) this.nats_discontinuities.inc({ consumer, reason }, 0);
  }

  natsStreamDiscontinuity(consumer: string, reason: NatsDiscontinuityReason): void {
    if (!this.active) return;
    this.nats_discontinuities.inc({ consumer, reason });
  }

  /** A consumer's lag is read at scrape time (bounded by a timeout); returns the unregister. */
  registerConsumerLag(consumer: string, read: () => Promise<LagReading>): () => void {
    return this.scrape.registerConsumerLag(consumer, read);
  }
}

/** This process's metrics. */
export const metrics = new Metrics();

/** `PAYRAIL_METRICS=off` (or `0`, `false`) turns metrics off; they are on otherwise. */
export function metricsEnabledIn(env: NodeJS.ProcessEnv): boolean {
  const value = (env.PAYRAIL_METRICS ?? '').trim().toLowerCase();
  return !['off', '0', 'false', 'no'].includes(value);
}

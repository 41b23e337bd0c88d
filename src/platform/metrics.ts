import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from './db.js';

/**
 * Prometheus metrics: one registry per process, served at `/metrics` by the API server. Every label
 * value comes from a bounded set (route templates, status codes, error codes from the registry,
 * processor names, Stripe's decline codes); ids and merchant ids never become labels.
 *
 * Recording functions are cheap no-ops until `enable()` (PAYRAIL_METRICS=off keeps them off), so code
 * anywhere can call them without knowing whether metrics are on. Other services report through the
 * functions at the end of this file (consumer lag, webhook deliveries, ledger posting lag).
 */

/** Seconds. 0.3 is a boundary so the p95 > 300 ms alert is exact, not interpolated. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10];
/** Lag of asynchronous work (consumers, ledger postings): seconds to minutes. */
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
/** A scrape never waits longer than this on the database; the previous value stays. */
const COLLECT_TIMEOUT_MS = 2_000;
/** Both consumer-lag gauges of one scrape share a reading taken within this window. */
const LAG_READING_REUSE_MS = 1_000;
/** The outbox is counted exactly up to this many rows, then by the planner's estimate. */
export const OUTBOX_COUNT_EXACT_MAX = 10_000;

/**
 * prom-client's default process metrics (event-loop lag, CPU, memory, heap, handles, file descriptors),
 * all but the GC-duration histogram: its `gc` PerformanceObserver cost 5 to 7% more CPU per confirmed
 * payment in the payments benchmark, the rest cost nothing measurable. prom-client has no switch for
 * one default metric, so its collectors are loaded one by one; the tests check their metrics exist.
 */
const DEFAULT_COLLECTORS = [
  'processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'eventLoopLag', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
];
const EVENT_LOOP_PRECISION_MS = 10;

/** Stripe's documented decline codes, plus Payrail's own for blocks and failed 3-D Secure. Others become `other`. */
const DECLINE_CODES: ReadonlySet<string> = new Set([
  'authentication_required', 'approve_with_id', 'call_issuer', 'card_not_supported', 'card_velocity_exceeded',
  'currency_not_supported', 'do_not_honor', 'do_not_try_again', 'duplicate_transaction', 'expired_card', 'fraudulent',
  'generic_decline', 'incorrect_number', 'incorrect_cvc', 'incorrect_pin', 'incorrect_zip', 'insufficient_funds',
  'invalid_account', 'invalid_amount', 'invalid_cvc', 'invalid_expiry_month', 'invalid_expiry_year', 'invalid_number',
  'invalid_pin', 'issuer_not_available', 'lost_card', 'merchant_blacklist', 'new_account_information_available',
  'no_action_taken', 'not_permitted', 'offline_pin_required', 'online_or_offline_pin_required', 'pickup_card',
  'pin_try_exceeded', 'processing_error', 'reenter_transaction', 'restricted_card', 'revocation_of_all_authorizations',
  'revocation_of_authorization', 'security_violation', 'service_not_allowed', 'stolen_card', 'stop_payment_order',
  'testmode_decline', 'transaction_not_allowed', 'try_again_later', 'withdrawal_count_exceeded',
  'authentication_failure',
]);

/** Error codes are from the registry, but a label must stay bounded even if a caller passes anything. */
const ERROR_CODE_PATTERN = /^[a-z_]{1,64}$/;

/**
 * succeeded: authorized (captured or not); declined: the issuer (or 3-D Secure) said no; blocked: risk
 * rules stopped it before the processor; failed: no answer (processor error, timeout, crash in between);
 * requires_action: 3-D Secure started (its completion is counted again as one of the others).
 */
export type PaymentOutcome = 'succeeded' | 'declined' | 'blocked' | 'failed' | 'requires_action';

/**
 * Why a JetStream consumer's position stopped matching its stream: re-created (new creation time),
 * truncated (sequence numbers reused), gap (events it had not applied are not in the stream).
 */
export const NATS_DISCONTINUITY_REASONS = ['recreated', 'truncated', 'gap'] as const;
export type NatsDiscontinuityReason = typeof NATS_DISCONTINUITY_REASONS[number];

interface LagReading {
  events_behind: number;
  seconds_behind: number;
}

export class Metrics {
  readonly registry = new Registry();
  private active = false;
  private default_metrics = false;
  private readonly pools = new Set<Pool>();
  private readonly lag_sources = new Map<string, () => Promise<LagReading>>();
  private readonly lag_last = new Map<string, LagReading>();
  private lag_reading: { at_ms: number; lags: Promise<Map<string, LagReading>> } | undefined;

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
  private readonly collect_errors = new Counter({
    name: 'payrail_metrics_collect_errors_total',
    help: 'Scrape-time readings that failed or timed out (the previous value was kept), by collector.',
    labelNames: ['collector'] as const,
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
  private readonly nats_links = new Map<string, () => boolean>();
  private unsettled_calls: (() => Promise<number>) | undefined;

  constructor() {
    const pools = () => [...this.pools];
    const sum = (read: (pool: Pool) => number) => pools().reduce((total, pool) => total + read(pool), 0);
    new Gauge({
      name: 'payrail_db_pool_max_connections', help: 'Configured size of the database pool.', registers: [this.registry],
      collect() { this.set(sum((pool) => pool.options.max ?? 10)); },
    });
    new Gauge({
      name: 'payrail_db_pool_connections', help: 'Open database connections in the pool (in use and idle).', registers: [this.registry],
      collect() { this.set(sum((pool) => pool.totalCount)); },
    });
    new Gauge({
      name: 'payrail_db_pool_idle_connections', help: 'Open database connections not in use.', registers: [this.registry],
      collect() { this.set(sum((pool) => pool.idleCount)); },
    });
    new Gauge({
      name: 'payrail_db_pool_waiting_clients', help: 'Callers waiting for a database connection (the pool is exhausted when this stays above 0).', registers: [this.registry],
      collect() { this.set(sum((pool) => pool.waitingCount)); },
    });
    // prom-client calls collect() with the gauge as `this`; the collectors also need this registry's.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'payrail_outbox_events',
      help: `Events in the transactional outbox: exact up to ${OUTBOX_COUNT_EXACT_MAX}, the planner's estimate beyond.`,
      registers: [this.registry],
      async collect() {
        const pool = pools().at(-1);
        if (!pool) return;
        const count = await self.bounded('outbox', countOutbox(pool));
        if (count !== undefined) this.set(count);
      },
    });
    new Gauge({
      name: 'payrail_consumer_lag_events', help: 'Outbox events a consumer has not yet passed.', labelNames: ['consumer'] as const, registers: [this.registry],
      async collect() {
        const lags = await self.readLags();
        this.reset();
        for (const [consumer, lag] of lags) this.set({ consumer }, lag.events_behind);
      },
    });
    new Gauge({
      name: 'payrail_consumer_lag_seconds', help: 'Age of the oldest outbox event a consumer has not yet passed (0 when caught up).', labelNames: ['consumer'] as const, registers: [this.registry],
      async collect() {
        const lags = await self.readLags();
        this.reset();
        for (const [consumer, lag] of lags) this.set({ consumer }, lag.seconds_behind);
      },
    });
    new Gauge({
      name: 'payrail_processor_calls_unsettled_seconds',
      help: 'Age of the oldest processor call (authorization, refund) whose answer is not recorded yet (0 when none): the sweeper settles those whose caller died.',
      registers: [this.registry],
      async collect() {
        if (!self.unsettled_calls) return;
        const age = await self.bounded('unsettled_calls', self.unsettled_calls());
        if (age !== undefined) this.set(age);
      },
    });
    new Gauge({
      name: 'payrail_nats_connected', help: '1 while this process is connected to NATS (JetStream binding), 0 while it is not; events wait in the outbox meanwhile.',
      labelNames: ['stream'] as const, registers: [this.registry],
      collect() {
        this.reset();
        for (const [stream, connected] of self.nats_links) this.set({ stream }, connected() ? 1 : 0);
      },
    });
  }

  get enabled(): boolean {
    return this.active;
  }

  /** Turns recording on, with the process metrics (event-loop lag, CPU, memory). Idempotent. */
  enable(): void {
    this.active = true;
    if (!this.default_metrics) {
      const load = createRequire(import.meta.url);
      for (const name of DEFAULT_COLLECTORS) {
        const collector = load(`prom-client/lib/metrics/${name}`) as (registry: Registry, config: object) => void;
        collector(this.registry, { eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
      }
      this.default_metrics = true;
    }
  }

  /** Reports this pool's saturation and (the last bound pool) the outbox size; returns the unbind. */
  bindPool(pool: Pool): () => void {
    this.pools.add(pool);
    return () => { this.pools.delete(pool); };
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
  apiError(code: string): void {
    if (!this.active) return;
    this.api_errors.inc({ code: ERROR_CODE_PATTERN.test(code) ? code : 'other' });
    if (code === 'idempotency_key_in_use') this.idempotency.inc({ result: 'in_use' });
    if (code === 'idempotency_error') this.idempotency.inc({ result: 'mismatch' });
  }

  payment(outcome: PaymentOutcome, decline_code?: string | null): void {
    if (!this.active) return;
    const code = outcome === 'declined' ? (decline_code && DECLINE_CODES.has(decline_code) ? decline_code : 'other') : '';
    this.payments.inc({ outcome, decline_code: code });
  }

  /** A processor call whose answer was lost, settled by asking (see payments/app/attempt.ts). */
  callSettled(kind: 'authorize' | 'refund', how: 'answered' | 'resent' | 'never_reached'): void {
    if (!this.active) return;
    this.settled_calls.inc({ kind, how });
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

  ledgerPostingLag(seconds: number): void {
    if (!this.active) return;
    this.ledger_lag.observe(Math.max(0, seconds));
  }

  consumerEvents(consumer: string, result: 'applied' | 'parked', count: number): void {
    if (!this.active || count <= 0) return;
    this.consumer_events.inc({ consumer, result }, count);
  }

  /** Reads the age in seconds of the oldest unsettled processor call at scrape time; returns the unregister. */
  registerUnsettledCalls(read: () => Promise<number>): () => void {
    this.unsettled_calls = read;
    return () => { this.unsettled_calls = undefined; };
  }

  /** Reports a NATS connection's state at scrape time; returns the unregister. */
  registerNatsLink(stream: string, connected: () => boolean): () => void {
    this.nats_links.set(stream, connected);
    return () => { this.nats_links.delete(stream); };
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
    this.lag_sources.set(consumer, read);
    this.lag_reading = undefined;
    return () => {
      this.lag_sources.delete(consumer);
      this.lag_last.delete(consumer);
      this.lag_reading = undefined;
    };
  }

  /**
   * One reading per consumer per scrape, shared by both lag gauges; a failed or slow reading keeps the
   * consumer's previous value.
   */
  private readLags(): Promise<Map<string, LagReading>> {
    const now = Date.now();
    if (this.lag_reading && now - this.lag_reading.at_ms < LAG_READING_REUSE_MS) return this.lag_reading.lags;
    const lags = (async () => {
      await Promise.all([...this.lag_sources].map(async ([consumer, read]) => {
        const lag = await this.bounded('consumer_lag', read());
        if (lag) this.lag_last.set(consumer, lag);
      }));
      return new Map([...this.lag_last].filter(([consumer]) => this.lag_sources.has(consumer)));
    })();
    this.lag_reading = { at_ms: now, lags };
    return lags;
  }

  private async bounded<T>(collector: string, work: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, COLLECT_TIMEOUT_MS, undefined); });
    try {
      const value = await Promise.race([work, timeout]);
      if (value === undefined) this.collect_errors.inc({ collector });
      return value;
    } catch {
      this.collect_errors.inc({ collector });
      return undefined;
    } finally {
      clearTimeout(timer);
      work.catch(() => {});
    }
  }
}

async function countOutbox(pool: Pool): Promise<number> {
  const result = await pool.query<{ n: number }>({
    name: 'payrail_metrics_outbox_count',
    text: `SELECT CASE WHEN c.n <= $1 THEN c.n
              ELSE greatest(c.n, (SELECT reltuples::bigint FROM pg_class WHERE oid = 'events.outbox'::regclass)) END::bigint AS n
           FROM (SELECT count(*) AS n FROM (SELECT 1 FROM events.outbox LIMIT $1 + 1) rows) c`,
    values: [OUTBOX_COUNT_EXACT_MAX],
  });
  return Number(result.rows[0]?.n ?? 0);
}

/** This process's metrics. */
export const metrics = new Metrics();

/** `PAYRAIL_METRICS=off` (or `0`, `false`) turns metrics off; they are on otherwise. */
export function metricsEnabledIn(env: NodeJS.ProcessEnv): boolean {
  const value = (env.PAYRAIL_METRICS ?? '').trim().toLowerCase();
  return !['off', '0', 'false', 'no'].includes(value);
}

import { randomBytes } from 'node:crypto';
import type { Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { assert } from '../../../kernel/assert.js';
import type { EventRequest } from '../outbox.js';
import { renderEvent } from '../outbox.js';
import { metrics } from '../../../platform/metrics.js';
import { tracedFromStored } from '../../../platform/tracing.js';
import type { RetrySchedule } from './schedule.js';
import { DEFAULT_RETRY_SCHEDULE, afterFailure, checkSchedule } from './schedule.js';
import { openSecret, signatureHeader } from './secrets.js';
import type { WebhookResponse, WebhookTransport } from './transport.js';
import { USER_AGENT, fetchTransport } from './transport.js';

/**
 * The webhook delivery worker: claims due deliveries, POSTs each event, records the attempt and
 * decides what comes next. It runs beside the API but never on a request's path: a slow or dead
 * endpoint costs this worker a few sockets and nothing else.
 *
 * Claims are leases (`lease_until_ms`), so several processes share the work and a worker that dies
 * mid-request only delays its deliveries until the lease runs out (they are then sent again:
 * delivery is at least once; receivers de-duplicate by event id, as with Stripe).
 *
 * Order: per (endpoint, object), first attempts go in commit order and never two at once, so a
 * healthy endpoint sees each payment's events in order. A failed delivery waits for its retry
 * without holding up later events of the same object (Stripe does not promise order either).
 */

export interface DeliverySettings {
  schedule: RetrySchedule;
  /** One attempt, connect to last body byte. */
  timeout_ms: number;
  /** Attempts in flight per endpoint, across every process (claims are serialized by a lock). */
  per_endpoint_concurrency: number;
  /** Attempts in flight in this process. */
  concurrency_max: number;
  /** Characters of each response body kept with the attempt. */
  response_excerpt_max: number;
  /** Wait between polls when nothing is due; an enqueue or a finished attempt in this process wakes it at once. */
  idle_ms: number;
  /** After a failed poll (database down), doubling up to backoff_max_ms. */
  backoff_ms: number;
  backoff_max_ms: number;
}

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = {
  schedule: DEFAULT_RETRY_SCHEDULE,
  timeout_ms: 10_000,
  per_endpoint_concurrency: 4,
  concurrency_max: 64,
  response_excerpt_max: 1_000,
  idle_ms: 100,
  backoff_ms: 100,
  backoff_max_ms: 5_000,
};

export const DELIVERY_LIMITS = {
  timeout_ms_max: 60_000,
  concurrency_max: 1_000,
  response_excerpt_max: 10_000,
  /** A lease outlives its attempt by this much, so a slow but live worker keeps its delivery. */
  lease_margin_ms: 5_000,
  /** Kept errors are short codes; this bounds anything longer. */
  error_length_max: 200,
} as const;

export function checkDeliverySettings(settings: DeliverySettings): DeliverySettings {
  checkSchedule(settings.schedule);
  assert(Number.isInteger(settings.timeout_ms) && settings.timeout_ms >= 1 && settings.timeout_ms <= DELIVERY_LIMITS.timeout_ms_max, 'webhook timeout_ms out of range');
  assert(Number.isInteger(settings.per_endpoint_concurrency) && settings.per_endpoint_concurrency >= 1 && settings.per_endpoint_concurrency <= settings.concurrency_max, 'per_endpoint_concurrency must be 1 to concurrency_max');
  assert(Number.isInteger(settings.concurrency_max) && settings.concurrency_max >= 1 && settings.concurrency_max <= DELIVERY_LIMITS.concurrency_max, 'webhook concurrency_max out of range');
  assert(Number.isInteger(settings.response_excerpt_max) && settings.response_excerpt_max >= 0 && settings.response_excerpt_max <= DELIVERY_LIMITS.response_excerpt_max, 'response_excerpt_max out of range');
  assert(settings.idle_ms > 0 && settings.backoff_ms > 0 && settings.backoff_max_ms >= settings.backoff_ms, 'webhook polling intervals out of range');
  return settings;
}

export interface DeliveryWorkerDeps {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  /** Opens the endpoints' sealed signing secrets (secrets.ts webhookSecretKey). */
  secret_key: Buffer;
  transport?: WebhookTransport;
  /** [0, 1), for the retry jitter. */
  random?: () => number;
  settings?: Partial<DeliverySettings>;
}

interface Claimed {
  id: number;
  merchant_id: string;
  event_id: string;
  endpoint_id: string;
  attempt: number;
  scheduled_attempts: number;
  round_started_ms: number;
  lease_token: string;
  url: string;
  secret_sealed: Buffer;
  type: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request: EventRequest;
  pending_webhooks: number;
}

export type AttemptResult = 'succeeded' | 'retry' | 'failed' | 'lost_lease' | 'aborted';

const CLAIM_LOCK = 'payrail.webhooks.claim';

export class DeliveryWorker {
  readonly settings: DeliverySettings;
  private readonly transport: WebhookTransport;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly in_flight = new Set<Promise<void>>();
  /** Aborts requests in flight at stop(): their leases are released for another worker. */
  private readonly shutdown = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake_up: (() => void) | undefined;
  private woken = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.settings = checkDeliverySettings({ ...DEFAULT_DELIVERY_SETTINGS, ...deps.settings });
    this.transport = deps.transport ?? fetchTransport;
    this.random = deps.random ?? Math.random;
    this.log = deps.logger.child({ worker: 'webhooks' });
  }

  /** Attempts running in this process now. */
  get in_flight_count(): number {
    return this.in_flight.size;
  }

  /** Claims what is due (within the concurrency caps) and starts sending it; returns how many. */
  async step(): Promise<number> {
    const free = this.settings.concurrency_max - this.in_flight.size;
    if (free <= 0) return 0;
    const claimed = await this.claim(free);
    for (const delivery of claimed) {
      const attempt = this.attempt(delivery)
        .then(() => undefined, (error: unknown) => { this.log.error({ err: error, delivery_id: delivery.id }, 'webhook attempt crashed; its lease will run out and it will be sent again'); })
        .finally(() => { this.in_flight.delete(attempt); this.wake(); });
      this.in_flight.add(attempt);
    }
    return claimed.length;
  }

  /** Tests: claim and send until nothing is due, waiting for every attempt. */
  async drain(rounds_max = 1_000): Promise<void> {
    for (let round = 0; round < rounds_max; round++) {
      const started = await this.step();
      if (started === 0 && this.in_flight.size === 0) return;
      if (this.in_flight.size > 0) await Promise.race(this.in_flight);
    }
    throw new Error('webhook deliveries did not drain');
  }

  /** Runs in the background until stop(). */
  start(): void {
    assert(this.loop === undefined, 'delivery worker started twice');
    this.loop = (async () => {
      let failures = 0;
      while (!this.stopping) {
        let wait_ms = this.settings.idle_ms;
        try {
          const started = await this.step();
          failures = 0;
          if (started > 0 && this.in_flight.size < this.settings.concurrency_max) continue;
        } catch (error) {
          failures = Math.min(failures + 1, 30);
          wait_ms = Math.min(this.settings.backoff_max_ms, this.settings.backoff_ms * 2 ** (failures - 1));
          this.log.warn({ err: error }, 'webhooks: claiming deliveries failed, backing off');
        }
        await this.sleep(wait_ms);
      }
    })();
  }

  /** Polls again now (after an enqueue in this process, or an attempt that freed a slot). */
  wake(): void {
    if (this.wake_up) this.wake_up();
    else this.woken = true;
  }

  /**
   * Stops claiming, aborts the requests in flight (their deliveries are handed back at once and sent
   * again later, by this or another process) and waits for that bookkeeping.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.shutdown.abort();
    await Promise.allSettled([...this.in_flight]);
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake_up = undefined; resolve(); }, ms);
      this.wake_up = () => { clearTimeout(timer); this.wake_up = undefined; resolve(); };
    });
  }

  /** Leases up to `limit` due deliveries: at most per_endpoint_concurrency in flight per endpoint. */
  async claim(limit: number): Promise<Claimed[]> {
    const now_ms = this.deps.clock.now_ms();
    // A cheap autocommit peek first: idle polls cost one indexed query and no transaction.
    const due = await run<{ due: boolean }>(this.deps.pool, sql`SELECT EXISTS (SELECT 1 FROM events.webhook_deliveries
      WHERE status = 'pending' AND next_attempt_ms <= ${now_ms} AND (lease_until_ms IS NULL OR lease_until_ms <= ${now_ms})) AS due`);
    if (due.rows[0]?.due !== true) return [];
    return withTransaction(this.deps.pool, async (client) => {
      // Serializes claims across processes so the per-endpoint cap holds globally; a claim takes ms.
      await run(client, sql`SELECT pg_advisory_xact_lock(hashtextextended(${CLAIM_LOCK}, 0))`);
      const token = randomBytes(12).toString('base64url');
      const lease_until_ms = now_ms + this.settings.timeout_ms + DELIVERY_LIMITS.lease_margin_ms;
      const result = await run<Claimed>(client, sql`
        WITH in_flight AS (
          SELECT endpoint_id, count(*)::int AS n FROM events.webhook_deliveries
          WHERE status = 'pending' AND lease_until_ms IS NOT NULL AND lease_until_ms > ${now_ms}
          GROUP BY endpoint_id
        ), picked AS (
          SELECT d.id, d.next_attempt_ms FROM events.webhook_endpoints e
          LEFT JOIN in_flight f ON f.endpoint_id = e.id
          CROSS JOIN LATERAL (
            SELECT d.id, d.next_attempt_ms FROM events.webhook_deliveries d
            WHERE d.endpoint_id = e.id AND d.merchant_id = e.merchant_id AND d.status = 'pending' AND d.next_attempt_ms <= ${now_ms}
              AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ${now_ms})
              -- Order per (endpoint, object): an earlier delivery of the object that is due or in flight goes first.
              AND NOT EXISTS (
                SELECT 1 FROM events.webhook_deliveries p
                WHERE p.endpoint_id = d.endpoint_id AND p.object_id = d.object_id AND p.status = 'pending' AND p.id < d.id
                  AND (p.next_attempt_ms <= ${now_ms} OR p.lease_until_ms > ${now_ms}))
            ORDER BY d.next_attempt_ms, d.id
            LIMIT greatest(0, ${this.settings.per_endpoint_concurrency}::int - coalesce(f.n, 0))
          ) d
          WHERE e.status = 'enabled'
          ORDER BY d.next_attempt_ms, d.id
          LIMIT ${limit}
        ), claimed AS (
          UPDATE events.webhook_deliveries d
          SET lease_until_ms = ${lease_until_ms}, lease_token = ${token}, attempts = d.attempts + 1,
              scheduled_attempts = d.scheduled_attempts + 1, last_attempt_ms = ${now_ms}
          FROM picked
          WHERE d.id = picked.id AND d.status = 'pending' AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ${now_ms})
          RETURNING d.id, d.merchant_id, d.event_id, d.endpoint_id, d.attempts, d.scheduled_attempts, d.round_started_ms, d.lease_token
        )
        SELECT c.id, c.merchant_id, c.event_id, c.endpoint_id, c.attempts AS attempt, c.scheduled_attempts, c.round_started_ms, c.lease_token,
               e.url, e.secret_sealed, o.type, o.created, o.data, o.request,
               (SELECT count(*)::int FROM events.webhook_deliveries x WHERE x.merchant_id = c.merchant_id AND x.event_id = c.event_id AND x.status = 'pending') AS pending_webhooks
        FROM claimed c
        JOIN events.webhook_endpoints e ON e.merchant_id = c.merchant_id AND e.id = c.endpoint_id
        JOIN events.outbox o ON o.merchant_id = c.merchant_id AND o.id = c.event_id
        ORDER BY c.id`);
      assert(result.rows.length <= limit, 'claimed more deliveries than asked');
      return result.rows;
    });
  }

  /** Sends one claimed delivery and records the attempt and what comes next. */
  async attempt(delivery: Claimed): Promise<AttemptResult> {
    const payload = JSON.stringify(renderEvent({
      id: delivery.event_id, merchant_id: delivery.merchant_id, type: delivery.type, created: delivery.created,
      data: delivery.data, request: delivery.request, pending_webhooks: delivery.pending_webhooks,
    }));
    const started_ms = this.deps.clock.now_ms();
    const clock_started = performance.now();
    let response: WebhookResponse;
    try {
      const secret = openSecret(delivery.secret_sealed, delivery.endpoint_id, this.deps.secret_key);
      const headers = {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': USER_AGENT,
        'stripe-signature': signatureHeader(secret, Math.floor(started_ms / 1000), payload),
      };
      // The span continues the trace of the API request that caused the event (stored with it).
      response = await tracedFromStored('webhooks.deliver', delivery.request, {
        'payrail.event_id': delivery.event_id, 'payrail.event_type': delivery.type, 'payrail.webhook_endpoint_id': delivery.endpoint_id,
      }, () => this.transport({
        url: delivery.url, body: payload, headers, timeout_ms: this.settings.timeout_ms, excerpt_max: this.settings.response_excerpt_max,
        signal: this.shutdown.signal,
      }));
    } catch (error) {
      // Nothing was sent (a secret that does not open: the key material changed). A failed attempt
      // like any other, so it follows the schedule and gives up, instead of crashing in a loop.
      this.log.error({ err: error, delivery_id: delivery.id, endpoint_id: delivery.endpoint_id }, 'webhooks: could not prepare the request');
      response = { status: null, error: 'internal_error', excerpt: null };
    }
    if (response.error === 'aborted') {
      await run(this.deps.pool, sql`UPDATE events.webhook_deliveries SET lease_until_ms = NULL, lease_token = NULL
        WHERE id = ${delivery.id} AND lease_token = ${delivery.lease_token} AND status = 'pending'`);
      return 'aborted';
    }
    const latency_ms = Math.max(0, Math.round(performance.now() - clock_started));
    const now_ms = this.deps.clock.now_ms();
    const ok = response.status !== null && response.status >= 200 && response.status < 300;
    metrics.webhookDelivery(ok ? 'succeeded' : 'failed', latency_ms / 1000);
    const error = response.error?.slice(0, DELIVERY_LIMITS.error_length_max) ?? (ok ? null : `http_${response.status}`);
    const next = ok ? undefined : afterFailure(this.settings.schedule, { failures: delivery.scheduled_attempts, round_started_ms: delivery.round_started_ms, now_ms }, this.random);
    const status = ok ? 'succeeded' : next?.kind === 'retry' ? 'pending' : 'failed';
    const next_attempt_ms = next?.kind === 'retry' ? next.at_ms : now_ms;
    const excerpt = response.excerpt === null ? null : stripUnstorable(response.excerpt);
    const updated = await run(this.deps.pool, sql`
      WITH recorded AS (
        INSERT INTO events.webhook_attempts (delivery_id, attempt, merchant_id, event_id, endpoint_id, started_ms, latency_ms, http_status, error, response_excerpt)
        VALUES (${delivery.id}, ${delivery.attempt}, ${delivery.merchant_id}, ${delivery.event_id}, ${delivery.endpoint_id}, ${started_ms}, ${latency_ms},
                ${response.status}, ${error}, ${excerpt})
        ON CONFLICT (delivery_id, attempt) DO NOTHING
      )
      UPDATE events.webhook_deliveries SET status = ${status}, next_attempt_ms = ${next_attempt_ms}, lease_until_ms = NULL, lease_token = NULL,
        last_http_status = ${response.status}, last_error = ${error}
      WHERE id = ${delivery.id} AND lease_token = ${delivery.lease_token} AND status = 'pending'`);
    const fields = { delivery_id: delivery.id, event_id: delivery.event_id, endpoint_id: delivery.endpoint_id, attempt: delivery.attempt, http_status: response.status, error, latency_ms };
    if (updated.rowCount !== 1) {
      this.log.warn(fields, 'webhooks: lease lost during the attempt (too slow, or the endpoint was disabled); the attempt is recorded');
      return 'lost_lease';
    }
    if (ok) {
      this.log.debug(fields, 'webhook delivered');
      return 'succeeded';
    }
    if (status === 'failed') {
      this.log.warn({ ...fields, reason: next?.kind === 'give_up' ? next.reason : null }, 'webhook delivery failed for good; resend with: payrail events resend');
      return 'failed';
    }
    this.log.info({ ...fields, next_attempt_in_ms: next_attempt_ms - now_ms }, 'webhook attempt failed; will retry');
    return 'retry';
  }
}

/** NUL and lone surrogates cannot be stored in text; a receiver's body may carry anything. */
function stripUnstorable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching NUL is the point: PostgreSQL text cannot hold it.
  return text.replace(/[\u0000\p{Cs}]/gu, '\uFFFD');
}

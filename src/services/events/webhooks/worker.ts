import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { assert } from '../../../kernel/assert.js';
import type { AttemptDeps, AttemptResult } from './attempt.js';
import { attemptDelivery } from './attempt.js';
import type { ClaimedDelivery } from './claim.js';
import { claimDueDeliveries } from './claim.js';
import type { DeliverySettings } from './delivery-settings.js';
import { DEFAULT_DELIVERY_SETTINGS, checkDeliverySettings } from './delivery-settings.js';
import type { WebhookTransport } from './transport.js';
import { webhookTransport } from './transport.js';
import type { WebhookSecretBox } from './secrets.js';
import { Alarm } from '../../../platform/alarm.js';

/**
 * The webhook delivery worker: claims due deliveries (claim.ts), POSTs each event and records the
 * attempt (attempt.ts), within its concurrency caps. It runs beside the API but never on a request's
 * path: a slow or dead endpoint costs this worker a few sockets and nothing else.
 *
 * Claims are leases, so several processes share the work and a worker that dies mid-request only
 * delays its deliveries until the lease runs out (they are then sent again: delivery is at least
 * once; receivers de-duplicate by event id, as with Stripe).
 */

export interface DeliveryWorkerDeps {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  /** Opens the endpoints' sealed signing secrets (secrets.ts). */
  secrets: WebhookSecretBox;
  /** Default: public destinations only (transport.ts). */
  transport?: WebhookTransport;
  /** [0, 1), for the retry jitter. */
  random?: () => number;
  settings?: Partial<DeliverySettings>;
}

export class DeliveryWorker {
  readonly settings: DeliverySettings;
  private readonly log: Logger;
  private readonly attempt_deps: AttemptDeps;
  private readonly in_flight = new Set<Promise<void>>();
  /** Aborts requests in flight at stop(): their leases are released for another worker. */
  private readonly shutdown = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private woken = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.settings = checkDeliverySettings({ ...DEFAULT_DELIVERY_SETTINGS, ...deps.settings });
    this.log = deps.logger.child({ worker: 'webhooks' });
    this.attempt_deps = {
      pool: deps.pool,
      clock: deps.clock,
      log: this.log,
      secrets: deps.secrets,
      settings: this.settings,
      transport: deps.transport ?? webhookTransport({ allow_private: false }),
      random: deps.random ?? Math.random,
      signal: this.shutdown.signal,
    };
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
        .then(
          () => undefined,
          (error: unknown) => {
            this.log.error({ err: error, delivery_id: delivery.id }, 'webhook attempt crashed; its lease will run out and it will be sent again');
          },
        )
        .finally(() => {
          this.in_flight.delete(attempt);
          this.wake();
        });
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
    if (!this.alarm.ring()) this.woken = true;
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
    return this.alarm.sleep(ms);
  }

  /** Leases up to `limit` due deliveries: at most per_endpoint_concurrency in flight per endpoint. */
  claim(limit: number): Promise<ClaimedDelivery[]> {
    return claimDueDeliveries(this.deps.pool, this.settings, this.deps.clock.now_ms(), limit);
  }

  /** Sends one claimed delivery and records the attempt and what comes next. */
  attempt(delivery: ClaimedDelivery): Promise<AttemptResult> {
    return attemptDelivery(this.attempt_deps, delivery);
  }
}

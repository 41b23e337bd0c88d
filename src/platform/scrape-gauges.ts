import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Pool } from './db.js';
import type { StandbyReading } from './replication.js';

/**
 * Gauges read when Prometheus scrapes, not when something happens: database pool saturation, the
 * outbox size, consumer lag, the oldest unsettled processor call, the NATS connections and the
 * database's replication to its standbys. The
 * services register what to read (they are unknown to the platform); every reading that waits on
 * the database is bounded, and one that fails or is slow keeps the gauge's previous value.
 */

/** A scrape never waits longer than this on the database; the previous value stays. */
const COLLECT_TIMEOUT_MS = 2_000;
/** Both consumer-lag gauges of one scrape share a reading taken within this window. */
const LAG_READING_REUSE_MS = 1_000;
/** The outbox is counted exactly up to this many rows, then by the planner's estimate. */
export const OUTBOX_COUNT_EXACT_MAX = 10_000;

export interface LagReading {
  events_behind: number;
  seconds_behind: number;
}

export class ScrapeGauges {
  private readonly pools = new Set<Pool>();
  private readonly lag_sources = new Map<string, () => Promise<LagReading>>();
  private readonly lag_last = new Map<string, LagReading>();
  private lag_reading: { at_ms: number; lags: Promise<Map<string, LagReading>> } | undefined;
  private readonly nats_links = new Map<string, () => boolean>();
  private unsettled_calls: (() => Promise<number>) | undefined;
  private replication: (() => Promise<StandbyReading[]>) | undefined;
  private readonly collect_errors: Counter<'collector'>;

  constructor(private readonly registry: Registry) {
    this.collect_errors = new Counter({
      name: 'payrail_metrics_collect_errors_total',
      help: 'Scrape-time readings that failed or timed out (the previous value was kept), by collector.',
      labelNames: ['collector'] as const,
      registers: [registry],
    });
    this.registerPoolGauges();
    this.registerOutboxGauge();
    this.registerConsumerLagGauges();
    this.registerUnsettledCallsGauge();
    this.registerNatsGauge();
    this.registerReplicationGauges();
  }

  /** Reports this pool's saturation and (the last bound pool) the outbox size; returns the unbind. */
  bindPool(pool: Pool): () => void {
    this.pools.add(pool);
    return () => {
      this.pools.delete(pool);
    };
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

  /** Reads the age in seconds of the oldest unsettled processor call at scrape time; returns the unregister. */
  registerUnsettledCalls(read: () => Promise<number>): () => void {
    this.unsettled_calls = read;
    return () => {
      this.unsettled_calls = undefined;
    };
  }

  /** Reads the primary's standbys and their lag at scrape time; returns the unregister. */
  registerReplication(read: () => Promise<StandbyReading[]>): () => void {
    this.replication = read;
    return () => {
      this.replication = undefined;
    };
  }

  /** Reports a NATS connection's state at scrape time; returns the unregister. */
  registerNatsLink(stream: string, connected: () => boolean): () => void {
    this.nats_links.set(stream, connected);
    return () => {
      this.nats_links.delete(stream);
    };
  }

  // prom-client calls collect() with the gauge as `this`, so each gauge reaches this object's state
  // through the arrow functions defined beside it.

  private registerPoolGauges(): void {
    const sum = (read: (pool: Pool) => number) => [...this.pools].reduce((total, pool) => total + read(pool), 0);
    const registers = [this.registry];
    new Gauge({
      name: 'payrail_db_pool_max_connections',
      help: 'Configured size of the database pool.',
      registers,
      collect() {
        this.set(sum((pool) => pool.options.max ?? 10));
      },
    });
    new Gauge({
      name: 'payrail_db_pool_connections',
      help: 'Open database connections in the pool (in use and idle).',
      registers,
      collect() {
        this.set(sum((pool) => pool.totalCount));
      },
    });
    new Gauge({
      name: 'payrail_db_pool_idle_connections',
      help: 'Open database connections not in use.',
      registers,
      collect() {
        this.set(sum((pool) => pool.idleCount));
      },
    });
    new Gauge({
      name: 'payrail_db_pool_waiting_clients',
      help: 'Callers waiting for a database connection (the pool is exhausted when this stays above 0).',
      registers,
      collect() {
        this.set(sum((pool) => pool.waitingCount));
      },
    });
  }

  private registerOutboxGauge(): void {
    const readCount = () => {
      const pool = [...this.pools].at(-1);
      return pool ? this.bounded('outbox', countOutbox(pool)) : Promise.resolve(undefined);
    };
    new Gauge({
      name: 'payrail_outbox_events',
      help: `Events in the transactional outbox: exact up to ${OUTBOX_COUNT_EXACT_MAX}, the planner's estimate beyond.`,
      registers: [this.registry],
      async collect() {
        const count = await readCount();
        if (count !== undefined) this.set(count);
      },
    });
  }

  private registerConsumerLagGauges(): void {
    const readLags = () => this.readLags();
    new Gauge({
      name: 'payrail_consumer_lag_events',
      help: 'Outbox events a consumer has not yet passed.',
      labelNames: ['consumer'] as const,
      registers: [this.registry],
      async collect() {
        const lags = await readLags();
        this.reset();
        for (const [consumer, lag] of lags) this.set({ consumer }, lag.events_behind);
      },
    });
    new Gauge({
      name: 'payrail_consumer_lag_seconds',
      help: 'Age of the oldest outbox event a consumer has not yet passed (0 when caught up).',
      labelNames: ['consumer'] as const,
      registers: [this.registry],
      async collect() {
        const lags = await readLags();
        this.reset();
        for (const [consumer, lag] of lags) this.set({ consumer }, lag.seconds_behind);
      },
    });
  }

  private registerUnsettledCallsGauge(): void {
    const readAge = () => (this.unsettled_calls ? this.bounded('unsettled_calls', this.unsettled_calls()) : Promise.resolve(undefined));
    new Gauge({
      name: 'payrail_processor_calls_unsettled_seconds',
      help: 'Age of the oldest processor call (authorization, refund) whose answer is not recorded yet (0 when none): the sweeper settles those whose caller died.',
      registers: [this.registry],
      async collect() {
        const age = await readAge();
        if (age !== undefined) this.set(age);
      },
    });
  }

  private registerNatsGauge(): void {
    const links = () => this.nats_links;
    new Gauge({
      name: 'payrail_nats_connected',
      help: '1 while this process is connected to NATS (JetStream binding), 0 while it is not; events wait in the outbox meanwhile.',
      labelNames: ['stream'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [stream, connected] of links()) this.set({ stream }, connected() ? 1 : 0);
      },
    });
  }

  /**
   * Each standby's lag, and how many standbys are synchronous (0: commits are acknowledged by the
   * primary alone, and its loss would lose them). One reading serves the three gauges of a scrape;
   * a failed reading reports nothing rather than a lag of 0.
   */
  private registerReplicationGauges(): void {
    let reading: { at_ms: number; standbys: Promise<StandbyReading[] | undefined> } | undefined;
    const read = () => {
      const now = Date.now();
      if (!this.replication) return Promise.resolve(undefined);
      if (!reading || now - reading.at_ms >= LAG_READING_REUSE_MS) reading = { at_ms: now, standbys: this.bounded('replication', this.replication()) };
      return reading.standbys;
    };
    const registers = [this.registry];
    const perStandby = (name: string, help: string, value: (standby: StandbyReading) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['standby', 'sync_state'] as const,
        registers,
        async collect() {
          const standbys = await read();
          this.reset();
          for (const standby of standbys ?? []) this.set({ standby: standby.standby, sync_state: standby.sync_state }, value(standby));
        },
      });
    perStandby('payrail_db_replication_lag_bytes', 'WAL the primary has written that a standby has not replayed yet.', (s) => s.lag_bytes);
    perStandby(
      'payrail_db_replication_lag_seconds',
      'Time between a commit on the primary and its replay on a standby (0 when caught up).',
      (s) => s.lag_seconds,
    );
    new Gauge({
      name: 'payrail_db_synchronous_standbys',
      help: 'Standbys every commit waits for: 0 means acknowledged payments live on the primary alone.',
      registers,
      async collect() {
        const standbys = await read();
        if (standbys) this.set(standbys.filter((standby) => standby.sync_state === 'sync').length);
      },
    });
  }

  /**
   * One reading per consumer per scrape, shared by both lag gauges; a failed or slow reading keeps the
   * consumer's previous value.
   */
  private readLags(): Promise<Map<string, LagReading>> {
    const now = Date.now();
    if (this.lag_reading && now - this.lag_reading.at_ms < LAG_READING_REUSE_MS) return this.lag_reading.lags;
    const lags = (async () => {
      await Promise.all(
        [...this.lag_sources].map(async ([consumer, read]) => {
          const lag = await this.bounded('consumer_lag', read());
          if (lag) this.lag_last.set(consumer, lag);
        }),
      );
      return new Map([...this.lag_last].filter(([consumer]) => this.lag_sources.has(consumer)));
    })();
    this.lag_reading = { at_ms: now, lags };
    return lags;
  }

  private async bounded<T>(collector: string, work: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, COLLECT_TIMEOUT_MS, undefined);
    });
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

import { Counter } from 'prom-client';
import type { Pool } from '../../../platform/db.js';
import type { Clock } from '../../../kernel/clock.js';
import type { Logger } from '../../../platform/logger.js';
import { metrics } from '../../../platform/metrics.js';
import type { Scheduler } from '../../../platform/scheduler.js';
import type { RecordedRequest, RequestLog } from '../../gateway/index.js';

/**
 * The request log behind the dashboard's "recent API requests". The gateway hands every answered
 * `/v1` request to `record`, which only appends to memory: a synchronous INSERT per request would
 * cost every API call a round trip (the throughput of issue 12). Entries are written as one
 * multi-row INSERT at least every `flush_interval_ms`, or as soon as `batch_rows` are waiting. The
 * buffer is bounded: when the database cannot keep up, the oldest entries are dropped and counted
 * (`payrail_request_log_dropped_total`), never the API slowed down. A log that is for display only
 * may lose its last second on a crash.
 */

export interface RequestLogLimits {
  flush_interval_ms: number;
  batch_rows: number;
  /** Entries held in memory at most; past it the oldest go. */
  buffer_max: number;
}

export const REQUEST_LOG_LIMITS: RequestLogLimits = { flush_interval_ms: 1_000, batch_rows: 500, buffer_max: 20_000 };

/** How long requests stay listed; older ones are purged by the scheduler's job. */
export const REQUEST_LOG_RETENTION_MS = 7 * 24 * 3600_000;
const REQUEST_LOG_PURGE_JOB = 'dashboard-request-log-purge';
const REQUEST_LOG_PURGE_CRON = '*/15 * * * *';
/** Rows deleted per statement, and statements per purge run: a backlog is worked off over several runs, never in one long lock. */
const PURGE_BATCH_ROWS = 10_000;
const PURGE_BATCHES_MAX = 50;

// Registered once per process: several platforms in one test process share it.
const dropped = new Counter({
  name: 'payrail_request_log_dropped_total',
  help: 'API request log entries dropped before reaching the database, by reason (buffer overflow, failed write).',
  labelNames: ['reason'] as const,
  registers: [metrics.registry],
});

export class BufferedRequestLog implements RequestLog {
  private buffer: RecordedRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** A flush chained behind the running one and not started yet: it will take whatever is buffered by then. */
  private queued: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly limits: RequestLogLimits = REQUEST_LOG_LIMITS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.limits.flush_interval_ms);
    this.timer.unref();
  }

  record(entry: RecordedRequest): void {
    if (this.buffer.length >= this.limits.buffer_max) {
      this.buffer.shift();
      dropped.inc({ reason: 'overflow' });
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.limits.batch_rows) void this.flush();
  }

  /**
   * Writes everything buffered so far. Flushes run one after another, never two at once, and at most
   * one waits behind the running one: under load every record() past batch_rows asks for a flush.
   */
  flush(): Promise<void> {
    this.queued ??= this.writing.then(() => {
      this.queued = undefined;
      return this.writeAll();
    });
    this.writing = this.queued;
    return this.queued;
  }

  /** Stops the timer and writes what is left (before the pool closes). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.limits.batch_rows);
      try {
        await insertBatch(this.pool, batch);
      } catch (error) {
        dropped.inc({ reason: 'write_failed' }, batch.length);
        this.logger.warn({ err: error, rows: batch.length }, 'request log: a batch could not be written and was dropped');
        return;
      }
    }
  }
}

/** One statement for the whole batch, its text the same whatever the batch's size. */
async function insertBatch(pool: Pool, batch: readonly RecordedRequest[]): Promise<void> {
  const column = <K extends keyof RecordedRequest>(key: K) => batch.map((entry) => entry[key]);
  await pool.query(
    `INSERT INTO dashboard.api_requests (merchant_id, request_id, created_ms, method, path, status, latency_ms, api_key_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::real[], $8::text[])
     ON CONFLICT (merchant_id, request_id) DO NOTHING`,
    [
      column('merchant_id'),
      column('request_id'),
      column('created_ms'),
      column('method'),
      column('path'),
      column('status'),
      column('latency_ms'),
      column('api_key_id'),
    ],
  );
}

/** Deletes requests older than the retention; returns how many went. */
export async function purgeRequestLog(pool: Pool, now_ms: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < PURGE_BATCHES_MAX; batch++) {
    const result = await pool.query(
      `DELETE FROM dashboard.api_requests WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM dashboard.api_requests WHERE created_ms < $1 LIMIT $2))`,
      [now_ms - REQUEST_LOG_RETENTION_MS, PURGE_BATCH_ROWS],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < PURGE_BATCH_ROWS) break;
  }
  return deleted;
}

/** The retention purge, every quarter hour, by one process of the scheduler role. */
export function scheduleRequestLogPurge(scheduler: Scheduler, deps: { pool: Pool; clock: Clock }): void {
  scheduler.every(REQUEST_LOG_PURGE_JOB, { cron: REQUEST_LOG_PURGE_CRON }, async () => {
    await purgeRequestLog(deps.pool, deps.clock.now_ms());
  });
}

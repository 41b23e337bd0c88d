import { createRequire } from 'node:module';
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { assert } from '../kernel/assert.js';
import type { Logger } from './logger.js';

/**
 * Durable timed and background work: the `Scheduler` port, on pg-boss (10.x, the line that supports
 * Node 20), whose tables live in the `scheduler` schema of the platform's own PostgreSQL (created and
 * upgraded by pg-boss on `start()`, under its own advisory lock — or, for a scheduler without the
 * owner's login, by `payrail migrate` beforehand: scheduler-schema.ts). Jobs are rows: they survive
 * restarts, and any number of processes may run a scheduler on one database; each job is taken by one of them
 * (`FOR UPDATE SKIP LOCKED`). graphile-worker was the other candidate; it leaves a crashed process's
 * jobs locked for 4 hours and its retry backoff is fixed, where pg-boss lets each queue say how long a
 * job may run before another process takes it over and how retries back off.
 *
 * API (register with `handle`/`every` before `start()`; `enqueue` after it):
 *
 * - `handle(name, handler, { retry_limit, retry_delay_ms, timeout_ms, keyed })`: runs jobs enqueued
 *   under `name`. A handler that throws is retried up to `retry_limit` times, exponentially backed off
 *   from `retry_delay_ms` (whole seconds; each delay doubles, with up to 100% jitter), then kept as
 *   failed. `keyed` queues take a `singleton_key` on every job and hold at most one waiting job per key
 *   (a second `enqueue` while one waits returns null).
 * - `enqueue(name, payload, { run_at_ms, singleton_key })`: adds a job (payload: a JSON object), to run
 *   at once or from `run_at_ms` (epoch ms, wall clock). Returns its id, or null when a waiting job with
 *   the same key made it redundant.
 * - `every(name, { interval_ms } | { cron }, handler, { timeout_ms })`: recurring work run by one process
 *   at a time across all of them, never overlapping itself; a run that throws is logged and the next
 *   occurrence runs as scheduled (no retries of a recurring run).
 *   - `{ cron: '0 3 * * *' }`: five-field cron in UTC, minute precision (pg-boss evaluates it twice a
 *     minute and sends at most one job per minute across processes).
 *   - `{ interval_ms: 5_000 }` for sub-minute work (whole seconds, at least 1 s): each run first enqueues
 *     the next occurrence `interval_ms` later, then works. The queue admits one waiting and one running
 *     job (pg-boss's `stately` policy), so the chain stays single, and a run cannot start while the
 *     previous one is still running. Every `start()` seeds the chain, and a once-a-minute cron on the
 *     same queue re-seeds it if a crash ever broke it (a full queue drops the extra). A run that crashed
 *     its process blocks the next one until `timeout_ms` (default 60 s) has passed and maintenance
 *     (every 15 s) fails it. Keep runs well within `timeout_ms`: past it a run counts as failed (its
 *     code is not interrupted) and the next one may start beside it.
 * - Handlers of both kinds must be safe to run again: a run whose process dies after its work and
 *   before pg-boss records the result runs again (at-least-once, like any job queue).
 * - `start()`: installs or upgrades the schema, creates the queues, starts the workers.
 * - `stop()`: stops taking jobs, lets running ones finish for up to `stop_timeout_ms` (default 5 s), then
 *   hands the unfinished ones back (they are failed, so retried per their queue) and closes its
 *   connections (a pool of its own, `application_name` payrail-scheduler). Returns within that timeout
 *   plus 2 s even if the database stopped answering (then its connections are abandoned).
 *
 * Example, an attempt sweeper every 5 s whose crashed run frees the chain within 15 s + maintenance:
 * `scheduler.every(ORPHAN_SWEEP_JOB, { interval_ms: ORPHAN_SWEEP_INTERVAL_MS }, sweep)`,
 * registered in `start.ts` before `scheduler.start()`.
 *
 * To see it: `SELECT name, state, start_after, started_on, completed_on, retry_count, output FROM
 * scheduler.job ORDER BY created_on DESC LIMIT 20;` (and `scheduler.archive` for older jobs;
 * `scheduler.schedule` lists the cron schedules). Completed jobs move to the archive after an hour and
 * archived ones are deleted after a day; failed ones stay in `scheduler.job` for a week.
 */
export interface Scheduler {
  handle<P extends JobPayload>(name: string, handler: (payload: P) => Promise<void>, options?: HandlerOptions): void;
  every(name: string, schedule: RecurringSchedule, handler: () => Promise<void>, options?: { timeout_ms?: number }): void;
  enqueue(name: string, payload: JobPayload, options?: EnqueueOptions): Promise<string | null>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type JobPayload = Record<string, unknown>;
export type RecurringSchedule = { interval_ms: number } | { cron: string };

export interface HandlerOptions {
  /** Retries after the first failure (default 5). */
  retry_limit?: number;
  /** First retry delay, whole seconds in ms (default 1 s); later ones double. */
  retry_delay_ms?: number;
  /** How long a run may take before it counts as failed and may be retried elsewhere (default 5 min). */
  timeout_ms?: number;
  /** Every job carries a `singleton_key`; at most one waits per key. */
  keyed?: boolean;
}

export interface EnqueueOptions {
  /** Not before this wall-clock time (epoch ms). */
  run_at_ms?: number;
  /** Required on keyed queues, refused on others. */
  singleton_key?: string;
}

export interface SchedulerOptions {
  database_url: string;
  logger: Logger;
  /** Install or upgrade pg-boss's schema on `start()` (default true: the owner's login); false checks it is current (`payrail migrate` prepared it). */
  migrate?: boolean;
  /** How long `stop()` lets running jobs finish before handing them back (default 5 s, at least 1 s). */
  stop_timeout_ms?: number;
  /** How often each `handle` queue looks for due jobs (default 1 s, at least 0.5 s). */
  poll_interval_ms?: number;
}

const SCHEMA = 'scheduler';
const POOL_MAX = 3;
/**
 * Limits on the scheduler's connections, so a frozen or lost database fails its queries instead of
 * hanging them (and `stop()` with them). Looser than the request pool's: maintenance deletes in bulk.
 */
const POOL_LIMITS: Pick<
  pg.PoolConfig,
  'statement_timeout' | 'query_timeout' | 'connectionTimeoutMillis' | 'idle_in_transaction_session_timeout' | 'keepAlive'
> = {
  statement_timeout: 30_000,
  query_timeout: 31_000,
  connectionTimeoutMillis: 5_000,
  idle_in_transaction_session_timeout: 15_000,
  keepAlive: true,
};
const STOP_TIMEOUT_MS = 5_000;
/** `stop()` gives up on pg-boss this long after its own timeout (a database that no longer answers). */
const STOP_GRACE_MS = 2_000;
const POLL_INTERVAL_MS = 1_000;
const MIN_POLL_INTERVAL_MS = 500;
/** Recurring chains poll this often at most (cron queues need no better). */
const RECURRING_POLL_MAX_MS = 5_000;
const RECURRING_TIMEOUT_MS = 60_000;
const HANDLER_TIMEOUT_MS = 5 * 60_000;
const HANDLER_RETRY_LIMIT = 5;
const HANDLER_RETRY_DELAY_MS = 1_000;
/** Jobs a `handle` queue takes per poll, run one after another (each within its timeout). */
const HANDLER_BATCH_MAX = 10;
const MAINTENANCE_INTERVAL_S = 15;
const ARCHIVE_COMPLETED_AFTER_S = 60 * 60;
const ARCHIVE_FAILED_AFTER_S = 7 * 24 * 60 * 60;
const DELETE_ARCHIVED_AFTER_DAYS = 1;
/** Re-seeds an interval chain if a crash broke it. */
const WATCHDOG_CRON = '* * * * *';
const QUEUE_NAME = /^[a-z0-9][a-z0-9_-]{0,99}$/;

interface Registration {
  queue: PgBoss.Queue;
  poll_ms: number;
  batch_size?: number;
  work: (jobs: PgBoss.Job<JobPayload>[]) => Promise<void>;
  /** Sent once at start (interval chains). */
  seed?: true;
  cron?: string;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  reportUnawaitedSettlements();
  return new PgBossScheduler(options);
}

type Settle = (this: SettlingManager, ...args: unknown[]) => Promise<unknown>;

interface SettlingManager {
  complete: Settle;
  fail: Settle;
  emit(event: 'error', error: unknown): boolean;
}

let settlements_reported = false;

/**
 * pg-boss 10 settles a job after its handler with `complete()` or `fail()` without awaiting either
 * (11 awaits them, but needs Node 22): a database error at that moment becomes an unhandled rejection,
 * which stops a Payrail process (main.ts). Each of their promises gets a handler that reports the
 * error on the manager's 'error' event, which pg-boss forwards to ours (a warning in the log); callers
 * that await them still get the rejection. The job itself is safe: a job left active expires and is
 * retried, one left failed is kept. `test/integration/scheduler.test.ts` cuts the database at that moment.
 */
function reportUnawaitedSettlements(): void {
  if (settlements_reported) return;
  settlements_reported = true;
  const manager = createRequire(import.meta.url)('pg-boss/src/manager.js') as { prototype: SettlingManager };
  for (const method of ['complete', 'fail'] as const) {
    const settle = manager.prototype[method];
    manager.prototype[method] = function settleReported(this: SettlingManager, ...args: unknown[]): Promise<unknown> {
      const settled = settle.apply(this, args);
      settled.catch((error: unknown) => this.emit('error', error));
      return settled;
    };
  }
}

class PgBossScheduler implements Scheduler {
  private readonly boss: PgBoss;
  private readonly log: Logger;
  private readonly registrations = new Map<string, Registration>();
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(private readonly options: SchedulerOptions) {
    this.log = options.logger.child({ component: 'scheduler' });
    const config: PgBoss.ConstructorOptions & typeof POOL_LIMITS = {
      ...POOL_LIMITS,
      connectionString: options.database_url,
      max: POOL_MAX,
      application_name: 'payrail-scheduler',
      schema: SCHEMA,
      migrate: options.migrate ?? true,
      maintenanceIntervalSeconds: MAINTENANCE_INTERVAL_S,
      archiveCompletedAfterSeconds: ARCHIVE_COMPLETED_AFTER_S,
      archiveFailedAfterSeconds: ARCHIVE_FAILED_AFTER_S,
      deleteAfterDays: DELETE_ARCHIVED_AFTER_DAYS,
    };
    this.boss = new PgBoss(config);
    // Maintenance, cron and pool errors arrive here (an 'error' event without a listener would throw).
    this.boss.on('error', (error: unknown) => this.log.warn({ err: error }, 'scheduler: background error'));
  }

  handle<P extends JobPayload>(name: string, handler: (payload: P) => Promise<void>, options: HandlerOptions = {}): void {
    const retry_delay_ms = options.retry_delay_ms ?? HANDLER_RETRY_DELAY_MS;
    assert(retry_delay_ms >= 1_000 && retry_delay_ms % 1_000 === 0, `${name}: retry_delay_ms must be whole seconds`);
    this.register(name, {
      queue: {
        name,
        policy: options.keyed === true ? 'short' : 'standard',
        retryLimit: options.retry_limit ?? HANDLER_RETRY_LIMIT,
        retryDelay: retry_delay_ms / 1_000,
        retryBackoff: true,
        expireInSeconds: seconds(options.timeout_ms ?? HANDLER_TIMEOUT_MS),
      },
      poll_ms: Math.max(MIN_POLL_INTERVAL_MS, this.options.poll_interval_ms ?? POLL_INTERVAL_MS),
      batch_size: HANDLER_BATCH_MAX,
      work: async (jobs) => {
        // One by one; a failure fails only its own job (pg-boss completes the rest after we return).
        for (const job of jobs) {
          await this.run(name, () => handler(job.data as P)).catch((error: unknown) => this.boss.fail(name, job.id, { message: errorMessage(error) }));
        }
      },
    });
  }

  every(name: string, schedule: RecurringSchedule, handler: () => Promise<void>, options: { timeout_ms?: number } = {}): void {
    const queue: PgBoss.Queue = { name, policy: 'stately', retryLimit: 0, expireInSeconds: seconds(options.timeout_ms ?? RECURRING_TIMEOUT_MS) };
    if ('cron' in schedule) {
      this.register(name, { queue, poll_ms: RECURRING_POLL_MAX_MS, cron: schedule.cron, work: () => this.run(name, handler) });
      return;
    }
    const { interval_ms } = schedule;
    assert(interval_ms >= 1_000 && interval_ms % 1_000 === 0, `${name}: interval_ms must be whole seconds, at least one`);
    this.register(name, {
      queue,
      poll_ms: Math.max(MIN_POLL_INTERVAL_MS, Math.min(RECURRING_POLL_MAX_MS, interval_ms / 2)),
      seed: true,
      cron: WATCHDOG_CRON,
      work: async () => {
        // Next occurrence first, so a run that fails or dies does not end the chain.
        await this.boss.send(name, {}, { startAfter: interval_ms / 1_000 });
        await this.run(name, handler);
      },
    });
  }

  async enqueue(name: string, payload: JobPayload, options: EnqueueOptions = {}): Promise<string | null> {
    assert(this.state === 'started', 'enqueue before the scheduler started');
    const registration = this.registrations.get(name);
    const keyed = registration?.queue.policy === 'short';
    assert(registration !== undefined && registration.queue.policy !== 'stately', `no handler for job ${name}`);
    assert(keyed === (options.singleton_key !== undefined), `${name}: singleton_key is ${keyed ? 'required' : 'refused'} on this queue`);
    const send: PgBoss.SendOptions = {};
    if (options.run_at_ms !== undefined) send.startAfter = new Date(options.run_at_ms);
    if (options.singleton_key !== undefined) send.singletonKey = options.singleton_key;
    return this.boss.send(name, payload, send);
  }

  async start(): Promise<void> {
    assert(this.state === 'new', 'scheduler started twice');
    await this.boss.start();
    this.state = 'started';
    for (const [name, registration] of this.registrations) {
      await this.boss.createQueue(name, registration.queue);
      await this.boss.updateQueue(name, registration.queue); // a new release's settings apply to an existing queue
      await this.boss.work<JobPayload>(
        name,
        { pollingIntervalSeconds: registration.poll_ms / 1_000, batchSize: registration.batch_size ?? 1 },
        registration.work,
      );
      if (registration.seed) await this.boss.send(name, {});
      if (registration.cron) await this.boss.schedule(name, registration.cron, {});
    }
    this.log.info({ jobs: [...this.registrations.keys()] }, 'scheduler started');
  }

  async stop(): Promise<void> {
    if (this.state !== 'started') return;
    this.state = 'stopped';
    const timeout = this.options.stop_timeout_ms ?? STOP_TIMEOUT_MS;
    let deadline: NodeJS.Timeout | undefined;
    const gave_up = new Promise<'gave_up'>((resolve) => {
      deadline = setTimeout(() => resolve('gave_up'), timeout + STOP_GRACE_MS);
    });
    const stopped = this.boss.stop({ graceful: true, wait: true, close: true, timeout }).then(
      () => 'stopped' as const,
      (error: unknown) => {
        this.log.warn({ err: error }, 'scheduler: stop failed; jobs still running are retried once they expire');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([stopped, gave_up]);
    clearTimeout(deadline);
    if (outcome === 'gave_up') this.log.warn({ timeout_ms: timeout + STOP_GRACE_MS }, 'scheduler: stop timed out; its connections are abandoned');
  }

  private register(name: string, registration: Registration): void {
    assert(this.state === 'new', `job ${name} registered after start`);
    assert(QUEUE_NAME.test(name), `job name ${name} must be lower-case letters, digits, - or _`);
    assert(!this.registrations.has(name), `job ${name} registered twice`);
    this.registrations.set(name, registration);
  }

  /** Runs one job's handler, logging a failure before pg-boss records it (and retries, if it may). */
  private async run(name: string, handler: () => Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      this.log.warn({ err: error, job: name }, 'scheduler: job failed');
      throw error;
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function seconds(ms: number): number {
  assert(ms >= 1_000, 'timeouts are at least a second');
  return Math.ceil(ms / 1_000);
}

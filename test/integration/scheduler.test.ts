import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';
import type { Scheduler, SchedulerOptions } from '../../src/platform/scheduler.js';
import { createScheduler } from '../../src/platform/scheduler.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const WAIT_LIMIT_MS = 15_000;
const STOP_TIMEOUT_MS = 1_000;

let database: TestDatabase;
let db: pg.Client;
const running: Scheduler[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((scheduler) => scheduler.stop()));
});
afterAll(async () => {
  await db?.end();
  await database?.drop();
});

/** A scheduler on the test database, stopped after each test; `setup` registers its jobs. */
async function startScheduler(setup: (scheduler: Scheduler) => void, options: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
  const scheduler = createScheduler({
    database_url: database.url,
    logger: createLogger('silent'),
    stop_timeout_ms: STOP_TIMEOUT_MS,
    poll_interval_ms: 500,
    ...options,
  });
  setup(scheduler);
  running.push(scheduler);
  await scheduler.start();
  return scheduler;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function jobStates(name: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM scheduler.job WHERE name = $1 GROUP BY state', [name]);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('scheduler', () => {
  it('runs each enqueued job once when two schedulers share the database', async () => {
    const JOBS = 30;
    const runs: Array<{ n: number; by: string }> = [];
    const setup = (by: string) => (scheduler: Scheduler) =>
      scheduler.handle<{ n: number }>('count', async ({ n }) => {
        runs.push({ n, by });
        await pause(20); // widens the window in which a second taker would also run it
      });
    const first = await startScheduler(setup('first'));
    await startScheduler(setup('second'));
    for (let n = 0; n < JOBS; n++) await first.enqueue('count', { n });
    // A job is completed only after its run; once all are, none can run again.
    await until(async () => (await jobStates('count')).completed === JOBS, 'every job to complete');
    expect(runs.map((run) => run.n).sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, n) => n));
  });

  it('runs a recurring job in one process at a time, sub-minute, without overlapping itself', async () => {
    const runs: Array<{ by: string; start_ms: number; end_ms: number }> = [];
    const setup = (by: string) => (scheduler: Scheduler) =>
      scheduler.every('tick', { interval_ms: 1_000 }, async () => {
        const start_ms = Date.now();
        await pause(200);
        runs.push({ by, start_ms, end_ms: Date.now() });
      });
    const started_ms = Date.now();
    await startScheduler(setup('first'));
    await startScheduler(setup('second'));
    await until(() => runs.length >= 3, 'three runs');
    const ordered = [...runs].sort((a, b) => a.start_ms - b.start_ms);
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]!.start_ms).toBeGreaterThanOrEqual(ordered[i - 1]!.end_ms);
    // Two processes seeding and running the chain: still about one run a second, not two.
    expect(runs.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started_ms) / 1_000) + 1);
    expect((await jobStates('tick')).created ?? 0).toBeLessThanOrEqual(1);
  });

  it('keeps a recurring job going after a run fails', async () => {
    let runs = 0;
    await startScheduler((scheduler) =>
      scheduler.every('failing-tick', { interval_ms: 1_000 }, async () => {
        runs += 1;
        throw new Error('this run failed');
      }),
    );
    await until(() => runs >= 2, 'a second run after a failed one');
    expect((await jobStates('failing-tick')).failed).toBeGreaterThanOrEqual(1);
  });

  it('runs a job enqueued before a stop after a restart', async () => {
    const seen: unknown[] = [];
    const setup = (scheduler: Scheduler) =>
      scheduler.handle('later', async (payload) => {
        seen.push(payload);
      });
    const before = await startScheduler(setup);
    expect(await before.enqueue('later', { order: 'o_1' }, { run_at_ms: Date.now() + 1_000 })).toEqual(expect.any(String));
    await before.stop();
    expect(seen).toEqual([]);
    await startScheduler(setup);
    await until(() => seen.length === 1, 'the job to run after the restart');
    expect(seen).toEqual([{ order: 'o_1' }]);
  });

  it('retries a failing job with exponential backoff', async () => {
    const attempts_ms: number[] = [];
    await startScheduler((scheduler) =>
      scheduler.handle(
        'flaky',
        async () => {
          attempts_ms.push(Date.now());
          if (attempts_ms.length < 3) throw new Error(`attempt ${attempts_ms.length} failed`);
        },
        { retry_limit: 3, retry_delay_ms: 1_000 },
      ),
    );
    await running[0]!.enqueue('flaky', {});
    await until(async () => (await jobStates('flaky')).completed === 1, 'the third attempt to succeed');
    expect(attempts_ms).toHaveLength(3);
    const [first, second, third] = attempts_ms as [number, number, number];
    // Delays of 1 s then 2 s, each with up to 100% jitter on top.
    expect(second - first).toBeGreaterThanOrEqual(1_000);
    expect(third - second).toBeGreaterThanOrEqual(2_000);
  });

  it('holds at most one waiting job per key on a keyed queue', async () => {
    const seen: string[] = [];
    const scheduler = await startScheduler((s) =>
      s.handle<{ payout: string }>(
        'keyed',
        async ({ payout }) => {
          seen.push(payout);
        },
        { keyed: true },
      ),
    );
    const run_at_ms = Date.now() + 1_000;
    const first = await scheduler.enqueue('keyed', { payout: 'po_1' }, { singleton_key: 'po_1', run_at_ms });
    expect(first).toEqual(expect.any(String));
    expect(await scheduler.enqueue('keyed', { payout: 'po_1' }, { singleton_key: 'po_1', run_at_ms })).toBeNull();
    expect(await scheduler.enqueue('keyed', { payout: 'po_2' }, { singleton_key: 'po_2', run_at_ms })).toEqual(expect.any(String));
    await until(() => seen.length === 2, 'both keys to run');
    expect(seen.sort()).toEqual(['po_1', 'po_2']);
    await expect(scheduler.enqueue('keyed', { payout: 'po_3' })).rejects.toThrow(/singleton_key is required/);
  });

  it('stops within its timeout while a job hangs, and the job runs again after a restart', async () => {
    let release: () => void = () => {};
    const hanging = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const stuck = await startScheduler((scheduler) =>
      scheduler.handle(
        'stuck',
        async () => {
          started = true;
          await hanging;
        },
        { retry_limit: 1, retry_delay_ms: 1_000 },
      ),
    );
    try {
      await stuck.enqueue('stuck', { n: 1 });
      await until(() => started, 'the job to start');
      const stop_started_ms = Date.now();
      await stuck.stop();
      // pg-boss waits in 500 ms steps, then hands the job back.
      expect(Date.now() - stop_started_ms).toBeLessThan(STOP_TIMEOUT_MS + 1_000);
      const rerun: unknown[] = [];
      await startScheduler((scheduler) =>
        scheduler.handle(
          'stuck',
          async (payload) => {
            rerun.push(payload);
          },
          { retry_limit: 1, retry_delay_ms: 1_000 },
        ),
      );
      await until(() => rerun.length === 1, 'the handed-back job to run again');
      expect(rerun).toEqual([{ n: 1 }]);
    } finally {
      release();
    }
  });

  it('stops within a bound when the database stops answering', async () => {
    const target = new URL(database.url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    try {
      let runs = 0;
      const frozen = await startScheduler(
        (scheduler) =>
          scheduler.every('frozen-tick', { interval_ms: 1_000 }, async () => {
            runs += 1;
          }),
        { database_url: proxy.route(database.url) },
      );
      await until(() => runs >= 1, 'a first run');
      proxy.freeze();
      await pause(600); // the chain's next poll is now waiting on the frozen database
      const stop_started_ms = Date.now();
      await frozen.stop();
      // Its own timeout plus the grace it gives pg-boss, far below the 31 s query timeout.
      expect(Date.now() - stop_started_ms).toBeLessThan(STOP_TIMEOUT_MS + 2_000 + 1_000);
    } finally {
      await proxy.close();
    }
  });

  it('reports a database error while settling a job in the log, never as an unhandled rejection', async () => {
    const target = new URL(database.url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const lines: string[] = [];
    const logger = createLogger(
      'warn',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    try {
      const scheduler = await startScheduler(
        (s) =>
          s.handle('blip', async () => {
            started = true;
            await gate;
          }),
        { database_url: proxy.route(database.url), logger },
      );
      await scheduler.enqueue('blip', {});
      await until(() => started, 'the job to start');
      await proxy.close(); // the database is gone when pg-boss completes the job
      release();
      await until(() => lines.some((line) => line.includes('scheduler: background error')), 'the failed completion to be logged');
      expect(unhandled).toEqual([]);
    } finally {
      release();
      process.off('unhandledRejection', onUnhandled);
      await proxy.close().catch(() => {});
    }
  });
});

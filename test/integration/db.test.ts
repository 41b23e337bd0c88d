import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Pool, PoolLimits } from '../../src/platform/db.js';
import { createPool, isConnectionBroken, isDatabaseUnavailable, queryTimeoutMs, withTransaction } from '../../src/platform/db.js';
import { toPayrailError } from '../../src/platform/http/errors.js';
import { createTestDatabase } from '../support/database.js';
import type { TestDatabase } from '../support/database.js';
import { freePort } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Short limits, so a frozen connection costs these tests about a second. */
const LIMITS: PoolLimits = { statement_timeout_ms: 500, connect_timeout_ms: 500, idle_in_transaction_timeout_ms: 5_000 };
/** Slack on top of a limit before a test calls it late (a busy 2-core machine). */
const SLACK_MS = 1_500;
const EVENT_WAIT_MS = 5_000;

let database: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
});
afterAll(async () => {
  await admin.end();
  await database.drop();
});
// A client 'error' event without a listener is thrown as an uncaught exception (in a server, the
// process exits); Vitest reports any as an unhandled error and fails the run.

async function backendPid(db: pg.ClientBase | Pool): Promise<number> {
  return (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

async function terminate(pid: number): Promise<void> {
  const result = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [pid]);
  expect(result.rows[0]?.done).toBe(true);
}

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))]);
}

describe('withTransaction', () => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool(database.url, 1, LIMITS);
  });
  afterEach(async () => {
    await pool.end();
  });

  it('survives its backend being terminated mid-transaction, and the next transaction runs on a new connection', async () => {
    let killed_pid = 0;
    const failed = await withTransaction(pool, async (client) => {
      killed_pid = await backendPid(client);
      await client.query("INSERT INTO notes VALUES (1, 'lost with the session')");
      // Not events.once: it would listen for 'error' too, and hide the very event under test.
      const ended = new Promise((resolve) => client.once('end', resolve));
      await terminate(killed_pid);
      // The session ends while no query runs (as while a request waits on a processor): the client
      // emits 'error' with nobody awaiting a query, which crashed the process before.
      await bounded(ended, EVENT_WAIT_MS, 'the client noticing the terminated session');
      await client.query('SELECT 1');
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(isConnectionBroken(failed)).toBe(true);
    expect(toPayrailError(failed)?.code).toBe('service_unavailable');
    const next = await withTransaction(pool, async (client) => {
      await client.query("INSERT INTO notes VALUES (2, 'after')");
      return backendPid(client);
    });
    expect(next).not.toBe(killed_pid);
    const rows = await admin.query<{ id: number }>('SELECT id FROM notes WHERE id IN (1, 2) ORDER BY id');
    expect(rows.rows.map((r) => r.id)).toEqual([2]);
  });

  it('survives the idle-in-transaction timeout ending its session', async () => {
    const short = createPool(database.url, 1, { ...LIMITS, idle_in_transaction_timeout_ms: 200 });
    try {
      const failed = await withTransaction(short, async (client) => {
        const ended = new Promise((resolve) => client.once('end', resolve));
        // Idle inside the transaction past the limit, as while waiting on something outside.
        await bounded(ended, EVENT_WAIT_MS, 'PostgreSQL ending the idle transaction');
        await client.query('SELECT 1');
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isConnectionBroken(failed)).toBe(true);
      expect(await withTransaction(short, async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one)).toBe(1);
    } finally {
      await short.end();
    }
  });

  it('rolls back when work throws and keeps the healthy connection', async () => {
    const before = await backendPid(pool);
    await expect(
      withTransaction(pool, async (client) => {
        await client.query("INSERT INTO notes VALUES (3, 'rolled back')");
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect((await admin.query('SELECT 1 FROM notes WHERE id = 3')).rowCount).toBe(0);
    expect(await backendPid(pool)).toBe(before);
  });

  it('sends the first statement with BEGIN and hands its result to work', async () => {
    const locked = await withTransaction(pool, async (_client, first) => (first?.rows[0] as { locked?: boolean } | undefined)?.locked, {
      first_statement: "SELECT pg_try_advisory_xact_lock(hashtextextended('payrail.test', 0)) AS locked",
    });
    expect(locked).toBe(true);
  });

  it('classifies a statement timeout as unavailable without throwing the healthy connection away', async () => {
    const before = await backendPid(pool);
    const failed = await withTransaction(pool, (client) => client.query('SELECT pg_sleep(5)')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failed as { code?: string }).code).toBe('57014');
    expect(isDatabaseUnavailable(failed)).toBe(true);
    expect(await backendPid(pool)).toBe(before);
  });

  it('maps a serialization failure to a retryable lock_timeout', async () => {
    await admin.query("INSERT INTO notes VALUES (4, 'contended')");
    const other = createPool(database.url, 1, LIMITS);
    try {
      const repeatable = { first_statement: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ' };
      const failed = await withTransaction(
        pool,
        async (client) => {
          await client.query('SELECT body FROM notes WHERE id = 4');
          await withTransaction(other, (c) => c.query("UPDATE notes SET body = 'first' WHERE id = 4"), repeatable);
          await client.query("UPDATE notes SET body = 'second' WHERE id = 4");
        },
        repeatable,
      ).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((failed as { code?: string }).code).toBe('40001');
      expect(toPayrailError(failed)?.code).toBe('lock_timeout');
    } finally {
      await other.end();
    }
  });
});

describe('a frozen database', () => {
  let proxy: TcpProxy;
  let pool: Pool;
  beforeEach(async () => {
    const target = new URL(database.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    pool = createPool(proxy.route(database.url), 1, LIMITS);
  });
  afterEach(async () => {
    proxy.resume();
    await pool.end();
    await proxy.close();
  });

  it('fails a transaction within the client query timeout, and the pool heals with a new connection after resume', async () => {
    let frozen_pid = 0;
    const started = performance.now();
    const failed = await withTransaction(pool, async (client) => {
      frozen_pid = await backendPid(client);
      proxy.freeze();
      await client.query('SELECT 1');
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const elapsed_ms = performance.now() - started;

    expect(isDatabaseUnavailable(failed)).toBe(true);
    expect(toPayrailError(failed)?.code).toBe('service_unavailable');
    expect(elapsed_ms).toBeLessThan(queryTimeoutMs(LIMITS) + SLACK_MS);
    // A new connection cannot be opened while frozen either, and gives up within the connect timeout.
    const connect_started = performance.now();
    await expect(withTransaction(pool, (client) => client.query('SELECT 1'))).rejects.toSatisfy(isDatabaseUnavailable);
    expect(performance.now() - connect_started).toBeLessThan(LIMITS.connect_timeout_ms + SLACK_MS);

    proxy.resume();
    const healed = await withTransaction(pool, (client) => backendPid(client));
    expect(healed).not.toBe(frozen_pid);
  });

  it('keeps a pool-level error from killing the process when an idle connection is cut', async () => {
    await pool.query('SELECT 1');
    expect(pool.idleCount).toBe(1);
    const removed = new Promise((resolve) => pool.once('remove', resolve));
    proxy.cut();
    await bounded(removed, EVENT_WAIT_MS, 'the pool removing the cut connection');
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  });
});

it('classifies a refused connection as unavailable and says nothing of the address', async () => {
  const port = await freePort();
  const pool = createPool(`postgres://payrail:hunter2@127.0.0.1:${port}/nowhere`, 1, LIMITS);
  try {
    const failed = await withTransaction(pool, (client) => client.query('SELECT 1')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(failed)).toBe(true);
    const answer = toPayrailError(failed);
    expect(answer?.code).toBe('service_unavailable');
    expect(answer?.message).not.toMatch(new RegExp(`${port}|127\\.0\\.0\\.1|hunter2|payrail:|nowhere`));
  } finally {
    await pool.end();
  }
});

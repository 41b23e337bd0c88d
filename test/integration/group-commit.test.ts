import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { DEFAULT_POOL_LIMITS, createPool, isGuardFailure, sql } from '../../src/platform/db.js';
import type { RowShape } from '../../src/platform/group-commit.js';
import { mergeableRow, runGrouped } from '../../src/platform/group-commit.js';
import { withMerchant } from '../../src/platform/merchant-scope.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

/**
 * Group commit on real PostgreSQL: concurrent writes share transactions, each caller is answered only
 * once its write is committed, one failing write never fails its neighbours, and a connection lost
 * mid-batch fails the batch's callers with nothing of it written.
 */
let database: TestDatabase;
let scoped: Pool;
let observer: Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  observer = createPool(database.url, 2);
  await observer.query(`CREATE TABLE writes (label text PRIMARY KEY, merchant text NOT NULL, txid bigint NOT NULL)`);
  await observer.query(`CREATE TABLE claims (key text PRIMARY KEY, token text NOT NULL, merchant text NOT NULL, amount int NOT NULL CHECK (amount >= 0))`);
  await observer.query(`CREATE FUNCTION fail_if(condition boolean) RETURNS boolean AS $$
    BEGIN IF condition THEN RAISE EXCEPTION 'payrail_guard_failed'; END IF; RETURN true; END $$ LANGUAGE plpgsql`);
  scoped = createPool(database.url, 8, DEFAULT_POOL_LIMITS, { merchant_scoped: true });
});

afterAll(async () => {
  await scoped?.end();
  await observer?.end();
  await database?.drop();
});

/** One write as a request makes it: inside its merchant's scope, recording the scope and its transaction. */
function insert(merchant_id: string, label: string, fail = false) {
  return withMerchant(merchant_id, () =>
    runGrouped(
      scoped,
      sql`INSERT INTO writes (label, merchant, txid)
          SELECT ${label}, current_setting('payrail.merchant_id'), txid_current() WHERE fail_if(${fail})`,
    ),
  );
}

async function stored(prefix: string): Promise<Array<{ label: string; merchant: string; txid: string }>> {
  const found = await observer.query<{ label: string; merchant: string; txid: string }>(
    `SELECT label, merchant, txid FROM writes WHERE label LIKE $1 ORDER BY label`,
    [`${prefix}%`],
  );
  return found.rows;
}

describe('group commit', () => {
  it('commits concurrent writes in shared transactions, each under its own merchant, each visible once answered', async () => {
    const merchants = ['acct_group_a', 'acct_group_b', 'acct_group_c'];
    const visible_when_answered = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const label = `shared-${String(i).padStart(2, '0')}`;
        await insert(merchants[i % 3] as string, label);
        return (await observer.query(`SELECT 1 FROM writes WHERE label = $1`, [label])).rowCount;
      }),
    );
    expect(visible_when_answered.every((count) => count === 1)).toBe(true);
    const rows = await stored('shared-');
    expect(rows).toHaveLength(60);
    rows.forEach((row, i) => expect(row.merchant).toBe(merchants[i % 3]));
    expect(new Set(rows.map((row) => row.txid)).size).toBeLessThan(60);
  });

  it('answers a lone write at once, alone in its transaction', async () => {
    await insert('acct_group_a', 'alone');
    expect(await stored('alone')).toHaveLength(1);
  });

  it("fails only the write whose statement failed: the batch's other writes commit", async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => insert('acct_group_a', `guarded-${String(i).padStart(2, '0')}`, i === 7)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(19);
    const rejected = outcomes[7];
    expect(rejected?.status === 'rejected' && isGuardFailure(rejected.reason)).toBe(true);
    const rows = await stored('guarded-');
    expect(rows.map((row) => row.label)).not.toContain('guarded-07');
    expect(rows).toHaveLength(19);
  });

  it('fails every write of a batch whose connection is lost, and writes none of it', async () => {
    const writes = Array.from({ length: 10 }, (_, i) => insert('acct_group_b', `lost-${i}`));
    // In the same batch as the writes: the server ends this very connection before COMMIT.
    const kill = withMerchant('acct_group_b', () => runGrouped(scoped, sql`SELECT pg_terminate_backend(pg_backend_pid()) WHERE ${true}`));
    const outcomes = await Promise.allSettled([...writes, kill]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(await stored('lost-')).toEqual([]);
    // The pool recovers: the next write goes through.
    await insert('acct_group_b', 'after-loss');
    expect(await stored('after-loss')).toHaveLength(1);
  });
});

describe('what goes out to PostgreSQL', () => {
  it('a batch of writes is one send on its connection, not one per statement', async () => {
    const pool = createPool(database.url, 1, DEFAULT_POOL_LIMITS, { merchant_scoped: true });
    const sends: number[] = [];
    pool.on('connect', (client) => {
      const socket = (client as unknown as { connection: { stream: Writable & { _write: unknown; _writev: unknown } } }).connection.stream;
      for (const method of ['_write', '_writev'] as const) {
        const send = (socket[method] as (...args: unknown[]) => unknown).bind(socket);
        socket[method] = (...args: unknown[]) => {
          sends.push(method === '_writev' ? (args[0] as unknown[]).length : 1);
          return send(...args);
        };
      }
    });
    try {
      const write = (label: string) =>
        withMerchant('acct_sends', () => runGrouped(pool, sql`INSERT INTO writes (label, merchant, txid) VALUES (${label}, 'acct_sends', txid_current())`));
      await write('sends-warm'); // connects and prepares the statement
      sends.length = 0;
      await Promise.all(Array.from({ length: 10 }, (_, i) => write(`sends-${i}`)));
      expect(await stored('sends-')).toHaveLength(11);
      // BEGIN with the scope, ten statements and COMMIT: twelve queries, in one send.
      expect(sends).toHaveLength(1);
      expect(sends[0]).toBeGreaterThanOrEqual(12);
    } finally {
      await pool.end();
    }
  });
});

describe('rows of one shape', () => {
  /** Every statement the committer built for several rows, by their count. */
  const merged_sizes: number[] = [];
  const CLAIM_ROWS: RowShape = {
    statement: (rows) => {
      merged_sizes.push(rows.length);
      const column = (i: number) => rows.map((row) => row[i]);
      return sql`INSERT INTO claims (key, token, merchant, amount)
        SELECT key, token, current_setting('payrail.merchant_id'), amount FROM unnest(${column(0)}::text[], ${column(1)}::text[], ${column(2)}::int[]) AS u (key, token, amount)
        ON CONFLICT (key) DO NOTHING RETURNING token AS identity`;
    },
    identity: (values) => String(values[1]),
  };

  /** A claim as a request makes it: a row of CLAIM_ROWS, merged with others' or alone. */
  function claim(merchant_id: string, key: string, token: string, amount = 1) {
    return withMerchant(merchant_id, () => runGrouped(scoped, mergeableRow(CLAIM_ROWS, [key, token, amount])));
  }

  async function claims(prefix: string): Promise<Array<{ key: string; token: string; merchant: string }>> {
    const found = await observer.query<{ key: string; token: string; merchant: string }>(
      'SELECT key, token, merchant FROM claims WHERE key LIKE $1 ORDER BY key',
      [`${prefix}%`],
    );
    return found.rows;
  }

  it('are written by one statement per merchant, and each caller learns whether its own row was written', async () => {
    merged_sizes.length = 0;
    const merchants = ['acct_claim_a', 'acct_claim_b'];
    // 40 distinct keys, and key m-07 claimed twice: one of the two gets it.
    const requests = Array.from({ length: 40 }, (_, i) => ({ merchant: merchants[i % 2] as string, key: `m-${String(i).padStart(2, '0')}`, token: `t-${i}` }));
    requests.push({ merchant: 'acct_claim_b', key: 'm-07', token: 't-again' });
    const results = await Promise.all(requests.map((r) => claim(r.merchant, r.key, r.token)));
    expect(merged_sizes.some((size) => size > 1)).toBe(true);
    const stored_rows = await claims('m-');
    expect(stored_rows).toHaveLength(40);
    stored_rows.forEach((row) => expect(row.merchant).toBe(requests.find((r) => r.key === row.key && r.token === row.token)?.merchant));
    // Every distinct key was claimed by its caller; of m-07's two callers, exactly the one whose token is stored.
    requests.forEach((r, i) => {
      const mine = stored_rows.some((row) => row.key === r.key && row.token === r.token);
      expect(results[i]?.rowCount).toBe(mine ? 1 : 0);
    });
    expect(results.filter((result) => result.rowCount === 1)).toHaveLength(40);
  });

  it('a merged statement that fails is sent again row by row: only the failing row fails', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => claim('acct_claim_a', `f-${String(i).padStart(2, '0')}`, `ft-${i}`, i === 5 ? -1 : 1)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(19);
    expect(outcomes[5]).toMatchObject({ status: 'rejected', reason: { code: '23514' } });
    expect((await claims('f-')).map((row) => row.key)).not.toContain('f-05');
    expect(await claims('f-')).toHaveLength(19);
  });
});

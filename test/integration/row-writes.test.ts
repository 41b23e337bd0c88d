import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { DEFAULT_POOL_LIMITS, combineWrites, createPool, isGuardFailure, run } from '../../src/platform/db.js';
import { runGrouped } from '../../src/platform/group-commit.js';
import { withMerchant } from '../../src/platform/merchant-scope.js';
import { migrate } from '../../src/platform/migrations.js';
import { combineRowWrites, insertShape, rowsWrite, updateShape } from '../../src/platform/row-writes.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

/**
 * Row writes on real PostgreSQL: alone and merged by group commit they write the same rows; merged,
 * one statement writes every request's rows; a request whose guard fails, or whose row is refused,
 * fails alone; and a merged update finds its rows by index on a table that grew since it was
 * last analyzed.
 */
let database: TestDatabase;
let observer: Pool;
let scoped: Pool;

const MERCHANT = 'acct_rows';
const INSERT_ITEM = insertShape('items', { id: 'text', amount: 'bigint', note: 'text', flag: 'boolean', body: 'json', version: 'int' }, { status: "'new'" });
const UPDATE_ITEM = updateShape('items', { set: { amount: 'bigint', body: 'json', version: 'int' }, key: { id: 'text' }, expected: { version: 'int' } });
const INSERT_LOG = insertShape('item_log', { item_id: 'text', line: 'text' });

interface Item {
  id: string;
  amount: number;
  note: string | null;
  flag: boolean | null;
  body: string;
  version: number;
  status: string;
  xmin: string;
  cmin: string;
}

beforeAll(async () => {
  database = await createTestDatabase();
  observer = createPool(database.url, 2);
  await migrate(observer, []);
  await observer.query(`CREATE TABLE items (id text PRIMARY KEY, amount bigint NOT NULL CHECK (amount >= 0), note text, flag boolean,
    body json NOT NULL, version int NOT NULL, status text NOT NULL)`);
  await observer.query(`CREATE TABLE item_log (item_id text NOT NULL, line text NOT NULL)`);
  scoped = createPool(database.url, 4, DEFAULT_POOL_LIMITS, { merchant_scoped: true });
});

afterAll(async () => {
  await scoped?.end();
  await observer?.end();
  await database?.drop();
});

/** One request's writes, as the write pipeline commits them: grouped with other requests' meanwhile. */
function commit(writes: Parameters<typeof combineRowWrites>[0]) {
  return withMerchant(MERCHANT, () => runGrouped(scoped, combineRowWrites(writes)));
}

function insertItem(id: string, amount: number, note: string | null = null, body = '{"a":1}') {
  return [
    rowsWrite(INSERT_ITEM, [[id, amount, note, null, body, 1]]),
    rowsWrite(INSERT_LOG, [
      [id, 'created'],
      [id, 'noted'],
    ]),
  ];
}

async function items(prefix: string): Promise<Item[]> {
  const found = await observer.query<Item>(
    `SELECT id, amount, note, flag, body::text AS body, version, status, xmin::text AS xmin, cmin::text AS cmin FROM items WHERE id LIKE $1 ORDER BY id`,
    [`${prefix}%`],
  );
  return found.rows;
}

async function logLines(prefix: string): Promise<number> {
  const found = await observer.query<{ n: string }>(`SELECT count(*) AS n FROM item_log WHERE item_id LIKE $1`, [`${prefix}%`]);
  return Number(found.rows[0]?.n);
}

describe('row writes', () => {
  it('alone and merged write the same rows, values as given', async () => {
    const awkward = 'quote " backslash \\ newline \n unicode é 💳';
    const body = '{"nested":{"list":[1,2,3]},"text":"a \\"quoted\\" word"}';
    await withMerchant(MERCHANT, () => run(scoped, combineWrites(insertItem('same-alone', 9_007_199_254_740_991, awkward, body))));
    await Promise.all(Array.from({ length: 8 }, (_, i) => commit(insertItem(`same-merged-${i}`, 9_007_199_254_740_991, awkward, body))));
    const [alone, ...merged] = await items('same-');
    expect(merged).toHaveLength(8);
    for (const row of [alone, ...merged]) {
      expect(row).toMatchObject({ amount: 9_007_199_254_740_991, note: awkward, flag: null, body, version: 1, status: 'new' });
    }
    expect(await logLines('same-')).toBe(18);
  });

  it('merged, text that looks like array literal syntax is written as given', async () => {
    const notes = ['NULL', '', null, '{a,"b"}', ' spaced ', 'comma, then', '\\"', 'tab\there'];
    await Promise.all(notes.map((note, i) => commit([rowsWrite(INSERT_ITEM, [[`literal-${i}`, i, note, i % 2 === 0, '{"a":"\\n"}', 1]])])));
    const written = await items('literal-');
    expect(written.map((row) => row.note)).toEqual(notes);
    expect(written.map((row) => row.flag)).toEqual(notes.map((_, i) => i % 2 === 0));
    expect(new Set(written.map((row) => row.body))).toEqual(new Set(['{"a":"\\n"}']));
    expect(new Set(written.map((row) => `${row.xmin}/${row.cmin}`)).size).toBe(1);
  });

  it('merges concurrent requests into one statement per batch', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => commit(insertItem(`one-${String(i).padStart(2, '0')}`, i))));
    const written = await items('one-');
    expect(written).toHaveLength(12);
    // One transaction and one command in it: every row was written by one statement.
    expect(new Set(written.map((row) => `${row.xmin}/${row.cmin}`)).size).toBe(1);
  });

  it('a request whose expected version is stale fails alone; the others are written once', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => commit(insertItem(`stale-${i}`, 10))));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => commit([rowsWrite(UPDATE_ITEM, [[20 + i, `{"v":${i}}`, 2, `stale-${i}`, i === 3 ? 7 : 1]])])),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(isGuardFailure((outcomes[3] as PromiseRejectedResult).reason)).toBe(true);
    const stored = await items('stale-');
    expect(stored.map((row) => [row.amount, row.version])).toEqual([
      [20, 2],
      [21, 2],
      [22, 2],
      [10, 1],
      [24, 2],
      [25, 2],
    ]);
  });

  it('a refused row fails only its request, and nothing of it is written', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => commit(insertItem(`refused-${i}`, i === 5 ? -1 : i))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    expect(outcomes[5]).toMatchObject({ status: 'rejected', reason: { code: '23514' } });
    expect((await items('refused-')).map((row) => row.id)).not.toContain('refused-5');
    expect(await logLines('refused-')).toBe(14);
  });

  it('a merged update finds its rows by index on a table grown since it was analyzed nearly empty', async () => {
    // One connection, so a plan it kept would serve every round, and its statistics can be flushed at will.
    const single = createPool(database.url, 1, DEFAULT_POOL_LIMITS, { merchant_scoped: true });
    try {
      await observer.query(`CREATE TABLE grown (id text PRIMARY KEY, amount bigint NOT NULL, body json NOT NULL, version int NOT NULL)`);
      const update = updateShape('grown', { set: { amount: 'bigint', body: 'json', version: 'int' }, key: { id: 'text' }, expected: { version: 'int' } });
      const ids = Array.from({ length: 6 }, (_, i) => `g-seed-${i}`);
      await observer.query(`INSERT INTO grown SELECT unnest($1::text[]), 0, '{}', 0`, [ids]);
      await observer.query('ANALYZE grown');
      const round = (n: number) =>
        withMerchant(MERCHANT, () => Promise.all(ids.map((id) => runGrouped(single, combineRowWrites([rowsWrite(update, [[n, '{}', n + 1, id, n]])])))));
      // While the table is nearly empty: enough rounds for a prepared statement to settle on a plan.
      for (let n = 0; n < 8; n += 1) await round(n);
      await observer.query(`INSERT INTO grown SELECT 'g-' || n, 0, '{}', 0 FROM generate_series(1, 50000) AS n`);
      const scans_before = await seqScans(single, 'grown');
      await round(8);
      expect(await seqScans(single, 'grown')).toBe(scans_before);
      expect((await observer.query(`SELECT count(*)::int AS n FROM grown WHERE version = 9`)).rows[0]).toEqual({ n: 6 });
    } finally {
      await single.end();
    }
  });
});

/** The table's sequential scans so far, with what `pool`'s one connection did flushed to the statistics first. */
async function seqScans(pool: Pool, table: string): Promise<number> {
  // A backend reports its statistics when it goes idle, at most once a second unless told to now.
  await pool.query('SELECT pg_stat_force_next_flush()');
  await observer.query('SELECT pg_stat_clear_snapshot()');
  const found = await observer.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = $1`, [table]);
  return Number(found.rows[0]?.n);
}

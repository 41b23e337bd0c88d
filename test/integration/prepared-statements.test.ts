import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { createPool, rawSql, run } from '../../src/platform/db.js';
import { STATEMENTS_PER_CONNECTION_MAX } from '../../src/platform/statement-cache.js';
import { listEvents } from '../../src/services/events/app/queries.js';
import { findIntent, getCustomer } from '../../src/services/payments/adapters/store.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * Named prepared statements stay bounded per connection whatever the requests look like: each
 * distinct `GET /v1/events` filter shape is a statement text of its own, and PostgreSQL keeps every
 * prepared one for the session's life (≈ 35 kB each), so without a bound one merchant could grow a
 * backend's memory at will.
 */

const MERCHANT = 'acct_01PREPAREDSTATEMENTSAAAAA';
const SHAPES = 2_000;

let database: MigratedDatabase;

beforeAll(async () => {
  database = await createMigratedPool(2);
  await database.pool.query(
    `INSERT INTO events.outbox (merchant_id, id, type, created, object_id, data, request)
     VALUES ($1, 'evt_1', 'charge.succeeded', 1, 'ch_1', '{}', '{}'), ($1, 'evt_2', 'customer.created', 2, 'cus_1', '{}', '{}')`,
    [MERCHANT],
  );
});
afterAll(async () => {
  await database?.drop();
});

/** A pool of one connection, so every statement and the count below share a session. */
async function withOneConnection<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool(database.url, 1);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

const prepared = async (pool: Pool) => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_prepared_statements')).rows[0]?.n);

/** The i-th filter shape: its binary digits choose, type by type, an exact type or a `prefix.*`. */
function typesOfShape(i: number): string[] {
  return [...i.toString(2)].map((digit, position) => (digit === '1' ? `charge.type${position}` : `customer.group${position}.*`));
}

describe('named prepared statements', () => {
  it(`stay at most ${STATEMENTS_PER_CONNECTION_MAX} per connection after ${SHAPES} distinct GET /v1/events filter shapes`, async () => {
    await withOneConnection(async (pool) => {
      for (let i = 1; i <= SHAPES; i += 1) {
        const page = await listEvents(pool, MERCHANT, { limit: 10 }, typesOfShape(i));
        expect(page.data).toEqual([]);
      }
      expect(await prepared(pool)).toBeLessThanOrEqual(STATEMENTS_PER_CONNECTION_MAX);
      expect(await prepared(pool)).toBeGreaterThan(STATEMENTS_PER_CONNECTION_MAX / 2);
      // Filters that match still find their events, on statements evicted long ago too.
      const both = await listEvents(pool, MERCHANT, { limit: 10 }, ['charge.succeeded', 'customer.*']);
      expect(both.data.map((event) => event.id)).toEqual(['evt_2', 'evt_1']);
    });
  });

  it('prepare again what was evicted, with its own plan and answer', async () => {
    await withOneConnection(async (pool) => {
      const first = rawSql('SELECT 1 AS n');
      expect((await run<{ n: number }>(pool, first)).rows[0]?.n).toBe(1);
      for (let i = 2; i <= STATEMENTS_PER_CONNECTION_MAX + 50; i += 1) {
        expect((await run<{ n: number }>(pool, rawSql(`SELECT ${i} AS n`))).rows[0]?.n).toBe(i);
      }
      const names = await pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
      expect(names.rows.map((row) => row.statement)).not.toContain('SELECT 1 AS n');
      expect((await run<{ n: number }>(pool, first)).rows[0]?.n).toBe(1);
      expect(await prepared(pool)).toBeLessThanOrEqual(STATEMENTS_PER_CONNECTION_MAX);
    });
  });

  it('keep the ones in use: a statement run between others is never evicted', async () => {
    await withOneConnection(async (pool) => {
      const hot = rawSql('SELECT 0 AS n');
      for (let i = 1; i <= STATEMENTS_PER_CONNECTION_MAX * 3; i += 1) {
        await run(pool, rawSql(`SELECT ${i} AS n`));
        if (i % 50 === 0) await run(pool, hot);
      }
      const names = await pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
      expect(names.rows.map((row) => row.statement)).toContain('SELECT 0 AS n');
    });
  });

  it('serve reads of an object by its key from one plan per connection, prepared on first use', async () => {
    await withOneConnection(async (pool) => {
      for (const id of ['pi_missing_1', 'pi_missing_2', 'pi_missing_3']) expect(await findIntent(pool, MERCHANT, id)).toBeUndefined();
      await expect(getCustomer(pool, MERCHANT, 'cus_missing')).rejects.toMatchObject({ code: 'resource_missing' });
      const reads = await pool.query<{ statement: string }>(
        "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT state%' ORDER BY statement",
      );
      expect(reads.rows.map((row) => row.statement)).toEqual([
        'SELECT state, version FROM payments.customers WHERE merchant_id = $1 AND id = $2 AND NOT deleted',
        'SELECT state, version FROM payments.payment_intents WHERE merchant_id = $1 AND id = $2',
      ]);
    });
  });
});

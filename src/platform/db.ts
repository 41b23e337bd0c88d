import { createHash } from 'node:crypto';
import pg from 'pg';

export type Pool = pg.Pool;
export type Db = pg.Pool | pg.PoolClient;

// bigint columns hold money and counts; ours stay below 2^53, so parse them as numbers.
pg.types.setTypeParser(20, (value: string) => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`bigint ${value} exceeds the safe integer range`);
  return parsed;
});

export const STATEMENT_TIMEOUT_MS = 10_000;

export function createPool(connection_string: string, max: number): Pool {
  const pool = new pg.Pool({
    connectionString: connection_string,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'payrail',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** Runs `work` in one transaction: commit on success, roll back on any throw. */
export async function withTransaction<T>(pool: Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * A piece of SQL with its values, written with `sql` so values are never spliced into text.
 * Fragments compose: `combineWrites` joins several into one atomic statement (one round trip).
 */
export interface SqlFragment {
  readonly text: string;
  readonly values: readonly unknown[];
}

const PLACEHOLDER = '\u0000';

export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  return { text: strings.join(PLACEHOLDER), values };
}

export function numbered(fragment: SqlFragment, first_index = 1): string {
  let index = first_index;
  return fragment.text.replaceAll(PLACEHOLDER, () => `$${index++}`);
}

/**
 * Runs a fragment as a named prepared statement: each connection parses and plans a statement shape
 * once and reuses the plan. Shapes come from code, never from input, so their number is bounded.
 */
export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(db: Db, fragment: SqlFragment): Promise<pg.QueryResult<R>> {
  const text = numbered(fragment);
  return db.query<R>({ name: statementName(text), text, values: fragment.values as unknown[] });
}

const MAX_STATEMENT_NAMES = 2_000;
const statement_names = new Map<string, string>();

function statementName(text: string): string {
  const known = statement_names.get(text);
  if (known) return known;
  const name = `p_${createHash('sha1').update(text).digest('base64url')}`;
  if (statement_names.size < MAX_STATEMENT_NAMES) statement_names.set(text, name);
  return name;
}

/**
 * Joins data-modifying statements into one statement of CTEs. PostgreSQL runs a single statement
 * atomically, so the writes commit together without BEGIN/COMMIT round trips. Every write must
 * affect at least one row (a stale version or a lost idempotency lock affects none), or the whole
 * statement fails with `payrail_guard_failed` and nothing is written.
 */
export function combineWrites(writes: readonly SqlFragment[]): SqlFragment {
  const parts = writes.map((write, i) => `w${i} AS (${write.text} RETURNING 1)`);
  const checks = writes.map((_, i) => `EXISTS (SELECT 1 FROM w${i})`).join(' AND ');
  return {
    text: `WITH ${parts.join(',\n')}\nSELECT public.payrail_guard(${checks}) AS ok`,
    values: writes.flatMap((write) => write.values),
  };
}

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export function isGuardFailure(error: unknown): boolean {
  return (error as { message?: string }).message?.includes('payrail_guard_failed') ?? false;
}

export function isLockNotAvailable(error: unknown): boolean {
  return (error as { code?: string }).code === '55P03';
}

/** Joins fragments with a separator, keeping each one's values in order. */
export function joinSql(fragments: readonly SqlFragment[], separator: string): SqlFragment {
  return {
    text: fragments.map((f) => f.text).join(separator),
    values: fragments.flatMap((f) => f.values),
  };
}

export function rawSql(text: string): SqlFragment {
  assertNoPlaceholder(text);
  return { text, values: [] };
}

function assertNoPlaceholder(text: string): void {
  if (text.includes(PLACEHOLDER)) throw new Error('raw SQL must not contain placeholders');
}

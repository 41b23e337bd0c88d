import type { Writable } from 'node:stream';
import pg from 'pg';
import { currentMerchant, merchantScopeStatement } from './merchant-scope.js';
import { boundPreparedStatements, statementName } from './statement-cache.js';
import { isConnectionBroken } from './db-errors.js';

export type Pool = pg.Pool;
export {
  databaseFailureLabel,
  isConnectionBroken,
  isDatabaseUnavailable,
  isGuardFailure,
  isLockNotAvailable,
  isTransactionConflict,
  isUniqueViolation,
} from './db-errors.js';
export type Db = pg.Pool | pg.PoolClient;

// bigint columns hold money and counts; ours stay below 2^53, so parse them as numbers.
pg.types.setTypeParser(20, (value: string) => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`bigint ${value} exceeds the safe integer range`);
  return parsed;
});

/**
 * Limits on every database connection, so a lost or frozen PostgreSQL costs a request seconds, never
 * the whole outage. The first three are settings (PAYRAIL_DB_*, see config.ts); the rest follow.
 */
export interface PoolLimits {
  /** Server side: PostgreSQL cancels a statement running longer (SQLSTATE 57014). */
  statement_timeout_ms: number;
  /** Opening a connection, and waiting for a free one when the pool is full. */
  connect_timeout_ms: number;
  /** Server side: PostgreSQL ends a session left idle inside a transaction (frees its locks). */
  idle_in_transaction_timeout_ms: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = {
  statement_timeout_ms: 5_000,
  connect_timeout_ms: 2_000,
  idle_in_transaction_timeout_ms: 15_000,
};

/**
 * Client side, a query gives up this long after the server should have cancelled it: only a server
 * that no longer answers at all (frozen, or a network that drops packets) gets this far.
 */
export const QUERY_TIMEOUT_MARGIN_MS = 1_000;
/** TCP keep-alive probes start after this much silence, so a peer that vanished is noticed. */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;
const IDLE_CONNECTION_TIMEOUT_MS = 30_000;

export function queryTimeoutMs(limits: PoolLimits): number {
  return limits.statement_timeout_ms + QUERY_TIMEOUT_MARGIN_MS;
}

export interface SessionSettings {
  /** Every session is read-only in PostgreSQL itself (a write fails with SQLSTATE 25006): the pool use cases read through. */
  read_only?: boolean;
  /** Commits do not wait for the WAL flush: only for the sandbox processor's own records (see compose.ts). */
  asynchronous_commit?: boolean;
  /**
   * Each query made inside `withMerchant` (merchant-scope.ts) runs in a transaction scoped to that
   * merchant, for the row-level security policies; outside one, it runs unscoped and sees no
   * merchant's rows. The pools of the request path (the app role) are opened this way.
   */
  merchant_scoped?: boolean;
}

/** How this process's connections appear in pg_stat_activity: `payrail`, or its role's name (`payrail-ledger`). */
let application_name = 'payrail';

/** Names every pool opened from now on after this process's role; called once, before anything connects. */
export function nameConnections(name: string): void {
  application_name = name;
}

export function createPool(connection_string: string, max: number, limits: PoolLimits = DEFAULT_POOL_LIMITS, session: SessionSettings = {}): Pool {
  const options = [session.read_only ? '-c default_transaction_read_only=on' : '', session.asynchronous_commit ? '-c synchronous_commit=off' : '']
    .filter(Boolean)
    .join(' ');
  const pool = new pg.Pool({
    connectionString: connection_string,
    max,
    ...(options ? { options } : {}),
    // A scoped statement's BEGIN, the statement and COMMIT go out together (scopedStatement).
    ...(session.merchant_scoped ? { pipeline: true } : {}),
    idleTimeoutMillis: IDLE_CONNECTION_TIMEOUT_MS,
    connectionTimeoutMillis: limits.connect_timeout_ms,
    statement_timeout: limits.statement_timeout_ms,
    idle_in_transaction_session_timeout: limits.idle_in_transaction_timeout_ms,
    query_timeout: queryTimeoutMs(limits),
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name,
  });
  // An idle connection that breaks (terminated backend, failover, network) is removed by the pool,
  // which then emits 'error' here; without a listener that would crash the process. The next
  // request opens a fresh connection, so nothing else is needed.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    boundPreparedStatements(client);
    if (session.merchant_scoped) coalesceWrites(client);
    // A checked-out connection can learn it was ended between two of its holder's queries (a pipelined
    // connection has no active query while its statements are in flight); pg then emits 'error' on the
    // client, which must not crash the process. The holder's next query rejects with it anyway.
    client.on('error', () => {});
  });
  if (session.merchant_scoped) scopeQueries(pool);
  return pool;
}

/**
 * A pipelining connection's statements issued in one turn of the event loop go out in one write. pg
 * writes each statement's messages with a write of its own, and a send to PostgreSQL costs about as
 * much CPU as the Node work for the statement (measured under load, on loopback: a fifth of the API
 * process's CPU was these writes). A group-commit batch, or a scoped statement's BEGIN, statement and
 * COMMIT, is then one send. Nothing waits longer: the writes are flushed at the end of this turn.
 */
function coalesceWrites(client: pg.PoolClient): void {
  const stream = (client as unknown as { connection: { stream: Writable } }).connection.stream;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  (client as { query: unknown }).query = (...args: unknown[]): unknown => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return query(...args);
  };
}

const merchant_scoped_pools = new WeakSet<Pool>();

/** True for a pool opened with `merchant_scoped`: its statements in a merchant scope run scoped to it. */
export function isMerchantScoped(pool: Pool): boolean {
  return merchant_scoped_pools.has(pool);
}

/** `pool.query` inside a merchant scope runs as a scoped statement; outside one, as it is. */
function scopeQueries(pool: Pool): void {
  merchant_scoped_pools.add(pool);
  const unscoped = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const scoped = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    const merchant_id = currentMerchant();
    if (merchant_id === undefined || typeof values === 'function' || typeof callback === 'function') return unscoped(config, values, callback);
    return scopedStatement(pool, merchant_id, config, values);
  };
  (pool as { query: unknown }).query = scoped;
}

/**
 * One statement in its own transaction scoped to `merchant_id`: BEGIN with the scope, the statement
 * and COMMIT are written together on the pool's pipelining connection, so the scope costs no round
 * trip of its own. A failed statement leaves the transaction aborted, and its COMMIT rolls back.
 */
async function scopedStatement(pool: Pool, merchant_id: string, config: unknown, values: unknown): Promise<unknown> {
  const client = await pool.connect();
  const onConnectionError = () => {}; // the pending queries reject with it
  client.on('error', onConnectionError);
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const [begun, result, committed] = await Promise.allSettled([query(`BEGIN; ${merchantScopeStatement(merchant_id)}`), query(config, values), query('COMMIT')]);
  const failure = [result, begun, committed].find((settled) => settled.status === 'rejected');
  client.release(failure && isConnectionBroken(failure.reason) ? asError(failure.reason) : undefined);
  client.off('error', onConnectionError);
  if (failure) throw failure.reason;
  return (result as PromiseFulfilledResult<unknown>).value;
}

export interface TransactionOptions {
  /**
   * A statement without parameters sent with BEGIN in the same round trip (e.g. taking an advisory
   * lock); its result is handed to `work`.
   */
  first_statement?: string;
}

/**
 * Runs `work` in one transaction on one pool connection: commit on success, roll back on any throw.
 * The connection may die at any point (terminated backend, failover, idle-in-transaction timeout,
 * client-side query timeout): the failing query rejects, an 'error' the client emits meanwhile is
 * caught here instead of crashing the process, and a broken connection goes back to the pool with
 * its error so the pool destroys it rather than handing it to the next request. On a
 * `merchant_scoped` pool inside `withMerchant`, the scope is set with BEGIN, in the same round trip.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: pg.PoolClient, first: pg.QueryResult | undefined) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let lost: unknown;
  const onConnectionError = (error: unknown) => {
    lost ??= error;
  };
  client.on('error', onConnectionError);
  let broken: Error | undefined;
  const merchant_id = merchant_scoped_pools.has(pool) ? currentMerchant() : undefined;
  const scope = merchant_id === undefined ? [] : [merchantScopeStatement(merchant_id)];
  try {
    const last = await begin(client, [...scope, ...(options.first_statement === undefined ? [] : [options.first_statement])]);
    const result = await work(client, options.first_statement === undefined ? undefined : last);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await rollback(client, lost ?? error);
    throw error;
  } finally {
    client.release(broken);
    client.off('error', onConnectionError);
  }
}

/** BEGIN and `statements` in one round trip; answers the last statement's result. */
async function begin(client: pg.PoolClient, statements: readonly string[]): Promise<pg.QueryResult | undefined> {
  if (statements.length === 0) {
    await client.query('BEGIN');
    return undefined;
  }
  const results = (await client.query(['BEGIN', ...statements].join('; '))) as unknown as pg.QueryResult[];
  return results.at(-1);
}

/** Rolls back on a healthy connection; answers the error to release a broken one with. */
async function rollback(client: pg.PoolClient, error: unknown): Promise<Error | undefined> {
  // A dead or frozen connection cannot roll back (a frozen one would only time out again); closing
  // it makes PostgreSQL roll the transaction back.
  if (isConnectionBroken(error)) return asError(error);
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (rollback_error) {
    return asError(rollback_error);
  }
}

/** A thrown value as an Error, for APIs that take one (pool release, rejections). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A piece of SQL with its values, written with `sql` so values are never spliced into text.
 * Fragments compose: `combineWrites` joins several into one atomic statement (one round trip).
 */
export interface SqlFragment {
  readonly text: string;
  readonly values: readonly unknown[];
  /** false: planned each time it runs, never kept as a prepared statement (row-writes.ts says when). */
  readonly prepared?: false;
}

const PLACEHOLDER = '\u0000';

/**
 * The hot path builds the same SQL text for every request. Texts are memoized so each shape is
 * joined, combined and numbered once, and the same string object comes back each time: V8 keeps a
 * string's hash on the object, so the lookups that follow (here, and the statement name) cost no
 * pass over the text. A template's strings are one object per call site, which keys `sql` itself.
 */
const TEMPLATE_TEXTS = new WeakMap<TemplateStringsArray, string>();
/** Texts remembered per memo; past it the oldest is forgotten (list filters make texts that vary). */
const TEXT_MEMO_MAX = 2_000;
const numbered_texts = new Map<string, string>();
const combined_texts = new Map<string, string>();

function remember(memo: Map<string, string>, key: string, text: string): string {
  if (memo.size >= TEXT_MEMO_MAX) memo.delete(memo.keys().next().value as string);
  memo.set(key, text);
  return text;
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  let text = TEMPLATE_TEXTS.get(strings);
  if (text === undefined) {
    text = strings.join(PLACEHOLDER);
    TEMPLATE_TEXTS.set(strings, text);
  }
  return { text, values };
}

/** The text with its placeholders numbered from `first_index` ($1 by default). */
export function numbered(fragment: SqlFragment, first_index = 1): string {
  if (first_index !== 1) return numberFrom(fragment.text, first_index);
  return numbered_texts.get(fragment.text) ?? remember(numbered_texts, fragment.text, numberFrom(fragment.text, 1));
}

function numberFrom(text: string, first_index: number): string {
  let index = first_index;
  return text.replaceAll(PLACEHOLDER, () => `$${index++}`);
}

/**
 * Runs a fragment as a named prepared statement: each connection parses and plans a statement shape
 * once and reuses the plan. Some shapes follow the request (how many filters a list has), so each
 * connection keeps only its most recently used ones (statement-cache.ts).
 */
export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(db: Db, fragment: SqlFragment): Promise<pg.QueryResult<R>> {
  const text = numbered(fragment);
  return db.query<R>({ name: preparedName(fragment, text), text, values: fragment.values as unknown[] });
}

/** The prepared statement's name for `fragment`'s numbered `text`; none for one planned each time. */
export function preparedName(fragment: SqlFragment, text: string): string | undefined {
  return fragment.prepared === false ? undefined : statementName(text);
}

/**
 * Joins data-modifying statements into one statement of CTEs. PostgreSQL runs a single statement
 * atomically, so the writes commit together without BEGIN/COMMIT round trips. Every write must
 * affect at least one row (a stale version or a lost idempotency lock affects none), or the whole
 * statement fails with `payrail_guard_failed` and nothing is written.
 */
export function combineWrites(writes: readonly SqlFragment[]): SqlFragment {
  // The parts' texts are memoized objects, so joining them for the key is the one pass this makes.
  const key = writes.map((write) => write.text).join(PLACEHOLDER + PLACEHOLDER);
  const text = combined_texts.get(key) ?? remember(combined_texts, key, combinedText(writes));
  return { text, values: writes.flatMap((write) => write.values) };
}

function combinedText(writes: readonly SqlFragment[]): string {
  const parts = writes.map((write, i) => `w${i} AS (${write.text} RETURNING 1)`);
  const checks = writes.map((_, i) => `EXISTS (SELECT 1 FROM w${i})`).join(' AND ');
  return `WITH ${parts.join(',\n')}\nSELECT public.payrail_guard(${checks}) AS ok`;
}

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

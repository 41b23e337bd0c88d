import { createHmac, randomUUID } from 'node:crypto';
import type { Db, Pool } from '../db.js';
import { joinSql, rawSql, run, sql } from '../db.js';
import type { RowShape } from '../group-commit.js';
import { mergeableRow, runGrouped } from '../group-commit.js';
import { leaseAlive } from './lease.js';
import type { RowsWrite } from '../row-writes.js';
import { rowsWrite, updateShape } from '../row-writes.js';
import type { IdGenerator, IdKind } from '../../kernel/ids.js';
import { PayrailError } from '../../kernel/errors.js';
import { assert } from '../../kernel/assert.js';

/**
 * Stripe's Idempotency-Key semantics. The first request with a key takes a lock row (one INSERT,
 * committed durably before anything else happens) that also reserves the ids of the objects its use
 * case will create; its response is stored by the same statement that writes its effects, so the two
 * can never exist apart. A retry takes over a lock whose holder is gone (its process lease ended, or
 * the lock is older than the stale limit) with the same reserved ids, so the processor sees the same
 * attempt id, and the use case settles what the dead request left by asking, never by charging again.
 *
 * The lock is committed synchronously: when it was committed asynchronously, a database crash in the
 * window lost the lock while the processor had already authorized, and the retry charged again.
 */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** A holder that is alive but silent this long is presumed stuck; its lease normally tells much sooner. */
export const IDEMPOTENCY_LOCK_STALE_MS = 60_000;
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface StoredResponse {
  status: number;
  body: string;
}

export type LockResult = { kind: 'acquired'; lock: IdempotencyLock } | { kind: 'replay'; response: StoredResponse };

export interface IdempotencyLock {
  merchant_id: string;
  key: string;
  token: string;
  reserved: Partial<Record<IdKind, string>>;
  /** False when taken over from a request that died: its reserved ids may already be known to the processor. */
  first_attempt: boolean;
}

/**
 * Keyed, so the stored hash of a request that carried card data (POST /v1/payment_methods) cannot be
 * brute-forced back to the card number without the platform's secret.
 */
export function requestHash(hash_key: Buffer, method: string, path: string, params: unknown): string {
  return createHmac('sha256', hash_key)
    .update(`${method} ${path} ${stableJson(params)}`)
    .digest('base64url');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function validateKey(key: string): void {
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) throw new PayrailError('idempotency_key_invalid', { param: 'Idempotency-Key' });
}

interface KeyRow {
  request_hash: string;
  lock_token: string | null;
  reserved_ids: Partial<Record<IdKind, string>>;
  response_status: number | null;
  response_body: string | null;
}

export interface LockRequest {
  merchant_id: string;
  key: string;
  hash: string;
  now_ms: number;
  /** The kinds of object the use case creates: their ids are reserved with the lock. */
  reserves: readonly IdKind[];
  /** This process's lease key: a retry may take the lock over once the lease is gone (null: only once stale). */
  holder: number | null;
}

export async function acquire(pool: Pool, ids: IdGenerator, request: LockRequest): Promise<LockResult> {
  const { merchant_id, key, hash, now_ms, holder } = request;
  const token = randomUUID();
  const reserved = Object.fromEntries(request.reserves.map((kind) => [kind, ids.next(kind)]));
  const row = [merchant_id, key, hash, token, now_ms, holder, JSON.stringify(reserved), now_ms];
  const inserted = await runGrouped(pool, mergeableRow(LOCK_ROWS, row));
  if (inserted.rowCount === 1) return { kind: 'acquired', lock: { merchant_id, key, token, reserved, first_attempt: true } };
  return resolveConflict(pool, request, token);
}

/**
 * The locks one merchant's concurrent requests take, inserted by one statement (group-commit.ts); a
 * lock taken alone is the same statement of one row. Two
 * requests with the same key in it: the first row is inserted and the second does nothing, so only
 * the first's token comes back, and the second finds the key held, as it would one statement later.
 */
const LOCK_ROWS: RowShape = {
  statement: (rows) => {
    const column = (i: number) => rows.map((row) => row[i]);
    return sql`
    INSERT INTO gateway.idempotency_keys (merchant_id, key, request_hash, lock_token, locked_at_ms, holder_lease, reserved_ids, created_at_ms)
    SELECT * FROM unnest(${column(0)}::text[], ${column(1)}::text[], ${column(2)}::text[], ${column(3)}::text[], ${column(4)}::bigint[],
      ${column(5)}::int[], ${column(6)}::json[], ${column(7)}::bigint[])
    ON CONFLICT (merchant_id, key) DO NOTHING
    RETURNING lock_token AS identity`;
  },
  identity: (values) => String(values[3]),
};

async function resolveConflict(pool: Pool, request: LockRequest, token: string): Promise<LockResult> {
  const { merchant_id, key, hash, now_ms, holder } = request;
  // A response stored as a reference is its event's object, as that event stored it.
  const found = await run<KeyRow>(
    pool,
    sql`
    SELECT k.request_hash, k.lock_token, k.reserved_ids, k.response_status,
      coalesce(k.response_body, (SELECT (o.data -> 'object')::text FROM events.outbox o WHERE o.merchant_id = k.merchant_id AND o.id = k.response_event)) AS response_body
    FROM gateway.idempotency_keys k WHERE k.merchant_id = ${merchant_id} AND k.key = ${key}`,
  );
  const row = found.rows[0];
  if (!row) throw new PayrailError('idempotency_key_in_use'); // expired between our insert and select
  if (row.request_hash !== hash)
    throw new PayrailError('idempotency_error', {
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key.slice(0, 64)}' if you meant to execute a different request.`,
    });
  if (row.response_status !== null) {
    assert(row.response_body !== null, 'a stored response is its text or an event that exists');
    return { kind: 'replay', response: { status: row.response_status, body: row.response_body } };
  }
  // Taken over only from a holder that is provably gone, or silent past the stale limit.
  const taken = await run(
    pool,
    joinSql(
      [
        sql`
    UPDATE gateway.idempotency_keys SET lock_token = ${token}, locked_at_ms = ${now_ms}, holder_lease = ${holder}
    WHERE merchant_id = ${merchant_id} AND key = ${key} AND lock_token = ${row.lock_token}
      AND (locked_at_ms <= ${now_ms - IDEMPOTENCY_LOCK_STALE_MS} OR holder_lease IS NOT NULL AND NOT`,
        leaseAlive('holder_lease'),
        rawSql(')'),
      ],
      ' ',
    ),
  );
  if (taken.rowCount !== 1) throw new PayrailError('idempotency_key_in_use');
  return { kind: 'acquired', lock: { merchant_id, key, token, reserved: row.reserved_ids, first_attempt: false } };
}

const LOCK_KEY = { merchant_id: 'text', key: 'text' } as const;
const STILL_HELD = updateShape('gateway.idempotency_keys', { set: { locked_at_ms: 'bigint' }, key: LOCK_KEY, expected: { lock_token: 'text' } });
const COMPLETION = updateShape('gateway.idempotency_keys', {
  set: { response_status: 'int', response_body: 'text', response_event: 'text' },
  set_constants: { lock_token: 'NULL', locked_at_ms: 'NULL' },
  key: LOCK_KEY,
  expected: { lock_token: 'text' },
});

/** Affects no row once the lock was taken over: a write guarded by it fails instead of racing the new holder. */
export function stillHeld(lock: IdempotencyLock, now_ms: number): RowsWrite {
  return rowsWrite(STILL_HELD, [[now_ms, lock.merchant_id, lock.key, lock.token]]);
}

/**
 * The write that stores the response; it affects no row if the lock was lost, failing the statement.
 * With `event_id`, the response is that event's object (written by the same statement) and is stored
 * as a reference to it: the payment's snapshot is written once, not again as the key's answer.
 */
export function completion(lock: IdempotencyLock, response: StoredResponse, event_id: string | null = null): RowsWrite {
  return rowsWrite(COMPLETION, [[response.status, event_id ? null : response.body, event_id, lock.merchant_id, lock.key, lock.token]]);
}

/** After an unexpected failure the outcome is unknown: let the next retry take over at once (and settle it). */
export async function release(db: Db, lock: IdempotencyLock): Promise<void> {
  await run(
    db,
    sql`UPDATE gateway.idempotency_keys SET locked_at_ms = 0
    WHERE merchant_id = ${lock.merchant_id} AND key = ${lock.key} AND lock_token = ${lock.token}`,
  );
}

/** After a validation error on a first attempt nothing ran: drop the key, so corrected parameters may use it. */
export async function forget(db: Db, lock: IdempotencyLock): Promise<void> {
  await run(
    db,
    sql`DELETE FROM gateway.idempotency_keys
    WHERE merchant_id = ${lock.merchant_id} AND key = ${lock.key} AND lock_token = ${lock.token}`,
  );
}

export async function purgeExpired(pool: Pool, now_ms: number, batch_limit = 10_000): Promise<number> {
  const result = await run(
    pool,
    sql`DELETE FROM gateway.idempotency_keys WHERE ctid IN (
    SELECT ctid FROM gateway.idempotency_keys WHERE created_at_ms < ${now_ms - IDEMPOTENCY_RETENTION_MS} AND lock_token IS NULL LIMIT ${batch_limit})`,
  );
  return result.rowCount ?? 0;
}

/** Ids for one request: the reserved ones first (stable across retries), fresh ones after. */
export class RequestIds implements IdGenerator {
  private readonly unused: Partial<Record<IdKind, string>>;
  constructor(
    private readonly ids: IdGenerator,
    reserved: Partial<Record<IdKind, string>>,
  ) {
    this.unused = { ...reserved };
  }
  next(kind: IdKind): string {
    const reserved = this.unused[kind];
    if (reserved) {
      delete this.unused[kind];
      return reserved;
    }
    return this.ids.next(kind);
  }
}

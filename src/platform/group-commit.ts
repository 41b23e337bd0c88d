import type pg from 'pg';
import { assert } from '../kernel/assert.js';
import type { Pool, SqlFragment } from './db.js';
import { asError, isMerchantScoped, numbered, run } from './db.js';
import { isConnectionBroken } from './db-errors.js';
import { currentMerchant, merchantScopeStatement, withMerchant } from './merchant-scope.js';
import { statementName } from './statement-cache.js';

/**
 * Group commit for the write pipeline's durable statements (the idempotency lock, the attempt saved
 * before the processor call, the final commit). Writes that arrive while earlier batches are
 * committing are gathered and sent on one connection as one transaction, pipelined: one round trip
 * and one WAL flush for the batch instead of one each. Each caller is answered when its batch has
 * committed, so nothing is acknowledged before it is durable. Under light load a write finds nothing
 * in flight and goes out alone, at once: batching adds no wait of its own.
 *
 * One failing statement aborts its batch's transaction, so nothing of the batch is written; its
 * writes are then sent again one by one, and each caller gets its own statement's answer. A broken
 * connection fails the whole batch's callers, as it would have failed each alone (their requests are
 * then retried under their idempotency keys).
 *
 * Rows of one shape (`MergeableRow`, the idempotency lock) that one merchant's requests write in the
 * same batch go out as one multi-row statement: PostgreSQL's cost is mostly per statement.
 */
export interface GroupCommitLimits {
  /** Statements in one transaction: bounds the time a batch holds its row locks. */
  batch_max: number;
  /** Batches committing at once, each on its own pooled connection. */
  batches_in_flight_max: number;
}

export const DEFAULT_GROUP_COMMIT_LIMITS: GroupCommitLimits = { batch_max: 64, batches_in_flight_max: 4 };

/**
 * A one-row write that the rows of other requests of the same shape may share a statement with. Alone
 * (under light load, or when its batch is sent again one write at a time) it is its shape's statement
 * of its one row.
 */
export interface MergeableRow {
  readonly shape: RowShape;
  /** This row's values, in the order `shape.statement` takes them. */
  readonly values: readonly unknown[];
}

export interface RowShape {
  /** One statement writing every row given; it returns the `identity` of each row it wrote, as `identity`. */
  statement(rows: ReadonlyArray<readonly unknown[]>): SqlFragment;
  /** What tells a row apart in the statement's RETURNING (unique per write, e.g. a lock token). */
  identity(values: readonly unknown[]): string;
}

interface Pending {
  merchant_id: string;
  fragment: SqlFragment;
  mergeable: MergeableRow | undefined;
  resolve: (result: pg.QueryResult) => void;
  reject: (error: unknown) => void;
}

const committers = new WeakMap<Pool, GroupCommitter>();

/**
 * Runs one write on the merchant-scoped write `pool`, committed with the writes other requests of
 * this process make meanwhile. Outside a merchant scope, or on any other pool, it runs alone (`run`).
 */
export function runGrouped<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: Pool, write: SqlFragment | MergeableRow): Promise<pg.QueryResult<R>> {
  const mergeable = 'shape' in write ? write : undefined;
  const fragment = mergeable ? mergeable.shape.statement([mergeable.values]) : (write as SqlFragment);
  const merchant_id = currentMerchant();
  if (merchant_id === undefined || !isMerchantScoped(pool)) return runAlone(pool, fragment, mergeable) as Promise<pg.QueryResult<R>>;
  let committer = committers.get(pool);
  if (!committer) {
    committer = new GroupCommitter(pool, DEFAULT_GROUP_COMMIT_LIMITS);
    committers.set(pool, committer);
  }
  return committer.submit(merchant_id, fragment, mergeable) as Promise<pg.QueryResult<R>>;
}

export class GroupCommitter {
  private readonly waiting: Pending[] = [];
  private in_flight = 0;
  private flush_scheduled = false;

  constructor(
    private readonly pool: Pool,
    private readonly limits: GroupCommitLimits,
  ) {
    assert(Number.isInteger(limits.batch_max) && limits.batch_max >= 1, 'batch_max must be a positive integer');
    assert(Number.isInteger(limits.batches_in_flight_max) && limits.batches_in_flight_max >= 1, 'batches_in_flight_max must be a positive integer');
  }

  submit(merchant_id: string, fragment: SqlFragment, mergeable?: MergeableRow): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ merchant_id, fragment, mergeable, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** After this turn's I/O callbacks, so the writes of requests that arrived together share a batch. */
  private scheduleFlush(): void {
    if (this.flush_scheduled || this.in_flight >= this.limits.batches_in_flight_max) return;
    this.flush_scheduled = true;
    setImmediate(() => {
      this.flush_scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.waiting.length > 0 && this.in_flight < this.limits.batches_in_flight_max) {
      const batch = this.waiting.splice(0, this.limits.batch_max);
      this.in_flight += 1;
      void this.commit(batch).finally(() => {
        this.in_flight -= 1;
        if (this.waiting.length > 0) this.scheduleFlush();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return settleAlone(this.pool, batch[0] as Pending);
    let results: Array<[Pending, pg.QueryResult]> | 'rolled_back';
    try {
      results = await this.sendTogether(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    if (results !== 'rolled_back') {
      for (const [item, result] of results) item.resolve(result);
      return;
    }
    // Nothing of the batch was written: each write goes again alone, and gets its own answer.
    await Promise.all(batch.map((item) => settleAlone(this.pool, item)));
  }

  /**
   * BEGIN, each merchant's writes under its scope, COMMIT: written together on one pipelining
   * connection. Returns every write's result once the batch committed, or 'rolled_back' when one
   * statement failed (the others then fail as the transaction is aborted, and COMMIT rolls back).
   * Throws when the connection broke, or BEGIN failed: then nobody can tell what was written.
   */
  private async sendTogether(batch: Pending[]): Promise<Array<[Pending, pg.QueryResult]> | 'rolled_back'> {
    const client = await this.pool.connect();
    const onConnectionError = () => {}; // the pending queries reject with it
    client.on('error', onConnectionError);
    const query = client.query.bind(client) as (config: unknown) => Promise<pg.QueryResult>;
    const statements: Promise<pg.QueryResult>[] = [];
    const sent: Array<{ unit: Unit; index: number }> = [];
    for (const [merchant_id, units] of unitsByMerchant(batch)) {
      // The first scope rides with BEGIN, in the same message.
      const scope = merchantScopeStatement(merchant_id);
      statements.push(query(statements.length === 0 ? `BEGIN; ${scope}` : scope));
      for (const unit of units) {
        const fragment = Array.isArray(unit) ? mergedStatement(unit) : unit.fragment;
        const text = numbered(fragment);
        sent.push({ unit, index: statements.push(query({ name: statementName(text), text, values: fragment.values })) - 1 });
      }
    }
    statements.push(query('COMMIT'));
    const settled = await Promise.allSettled(statements);
    const broken = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && isConnectionBroken(s.reason));
    const begin_failed = settled[0]?.status === 'rejected' ? settled[0] : undefined;
    const failure = broken ?? begin_failed;
    client.release(failure ? asError(failure.reason) : undefined);
    client.off('error', onConnectionError);
    if (failure) throw failure.reason;
    if (settled.some((s) => s.status === 'rejected')) return 'rolled_back';
    return sent.flatMap(({ unit, index }): Array<[Pending, pg.QueryResult]> => {
      const result = (settled[index] as PromiseFulfilledResult<pg.QueryResult>).value;
      return Array.isArray(unit) ? splitMerged(unit, result) : [[unit, result]];
    });
  }
}

/** What one statement of a batch writes: one write, or the rows of one shape merged. */
type Unit = Pending | Pending[];

/**
 * The batch's writes by merchant (each merchant's under one scope), with the mergeable rows of each
 * shape gathered into one unit. A request has at most one write in flight, so their order is free.
 */
function unitsByMerchant(batch: readonly Pending[]): Map<string, Unit[]> {
  const by_merchant = new Map<string, Unit[]>();
  const merged = new Map<string, Map<RowShape, Pending[]>>();
  for (const item of batch) {
    let units = by_merchant.get(item.merchant_id);
    if (!units) by_merchant.set(item.merchant_id, (units = []));
    if (!item.mergeable) {
      units.push(item);
      continue;
    }
    let shapes = merged.get(item.merchant_id);
    if (!shapes) merged.set(item.merchant_id, (shapes = new Map<RowShape, Pending[]>()));
    const rows = shapes.get(item.mergeable.shape);
    if (rows) rows.push(item);
    else {
      const first = [item];
      shapes.set(item.mergeable.shape, first);
      units.push(first);
    }
  }
  return by_merchant;
}

function mergedStatement(rows: readonly Pending[]): SqlFragment {
  const [first] = rows;
  assert(first?.mergeable !== undefined, 'a merged unit holds mergeable rows');
  return first.mergeable.shape.statement(rows.map((row) => (row.mergeable as MergeableRow).values));
}

/** Each merged row's own answer. */
function splitMerged(rows: readonly Pending[], result: pg.QueryResult): Array<[Pending, pg.QueryResult]> {
  return rows.map((row) => [row, rowResult(row.mergeable as MergeableRow, result)]);
}

/** A row's own answer from its shape's statement: written (one row) if the statement returned its identity. */
function rowResult(row: MergeableRow, result: pg.QueryResult): pg.QueryResult {
  const identity = row.shape.identity(row.values);
  const written = result.rows.some((returned: { identity: string }) => returned.identity === identity);
  return { command: result.command, rowCount: written ? 1 : 0, oid: 0, fields: [], rows: [] };
}

/** One write's own statement, answered as its caller reads it. */
async function runAlone(pool: Pool, fragment: SqlFragment, mergeable: MergeableRow | undefined): Promise<pg.QueryResult> {
  const result = await run(pool, fragment);
  return mergeable ? rowResult(mergeable, result) : result;
}

/** One write in its own scoped transaction, answered with its own result. */
function settleAlone(pool: Pool, item: Pending): Promise<void> {
  return withMerchant(item.merchant_id, () => runAlone(pool, item.fragment, item.mergeable)).then(item.resolve, item.reject);
}

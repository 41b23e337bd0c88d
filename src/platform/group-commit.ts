import type pg from 'pg';
import { assert } from '../kernel/assert.js';
import type { Pool, SqlFragment } from './db.js';
import { asError, isMerchantScoped, numbered, preparedName, run } from './db.js';
import { isConnectionBroken } from './db-errors.js';
import { currentMerchant, merchantScopeStatement, withMerchant } from './merchant-scope.js';

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
 * Mergeable writes of one kind (`MergeableWrite`: the idempotency lock, a payment's row writes) that
 * one merchant's requests make in the same batch go out as one multi-row statement: PostgreSQL's cost
 * is mostly per statement.
 */
export interface GroupCommitLimits {
  /** Statements in one transaction: bounds the time a batch holds its row locks. */
  batch_max: number;
  /** Batches committing at once, each on its own pooled connection. */
  batches_in_flight_max: number;
}

export const DEFAULT_GROUP_COMMIT_LIMITS: GroupCommitLimits = { batch_max: 64, batches_in_flight_max: 4 };

/**
 * A write that other requests' writes of the same kind may share a statement with (the idempotency
 * lock's row, a payment's row writes: row-writes.ts). Alone (under light load, or when its batch is
 * sent again one write at a time) it is the statement of itself only.
 */
export interface MergeableWrite {
  /** One merchant's writes with the same key may share one statement. */
  readonly merge_key: unknown;
  /** Fewer writes of a key than this in one batch are sent each alone. */
  readonly merge_min: number;
  /** The one statement writing all of `writes` (this one first, the others of its key after it). */
  merged(writes: readonly MergeableWrite[]): SqlFragment;
  /** This write's own answer, from the result of the statement that wrote it. */
  answer(result: pg.QueryResult): pg.QueryResult;
}

/** Rows of one table that a statement writes many of at once, each told apart by its identity. */
export interface RowShape {
  /** One statement writing every row given; it returns the `identity` of each row it wrote, as `identity`. */
  statement(rows: ReadonlyArray<readonly unknown[]>): SqlFragment;
  /** What tells a row apart in the statement's RETURNING (unique per write, e.g. a lock token). */
  identity(values: readonly unknown[]): string;
}

/** One row of `shape` as a mergeable write: its answer says one row written if its identity came back. */
export function mergeableRow(shape: RowShape, values: readonly unknown[]): MergeableWrite {
  return new ShapedRow(shape, values);
}

class ShapedRow implements MergeableWrite {
  constructor(
    private readonly shape: RowShape,
    private readonly values: readonly unknown[],
  ) {}

  readonly merge_min = 2;

  get merge_key(): RowShape {
    return this.shape;
  }

  merged(writes: readonly MergeableWrite[]): SqlFragment {
    return this.shape.statement(writes.map((write) => (write as ShapedRow).values));
  }

  answer(result: pg.QueryResult): pg.QueryResult {
    const identity = this.shape.identity(this.values);
    const written = result.rows.some((returned: { identity: string }) => returned.identity === identity);
    return { command: result.command, rowCount: written ? 1 : 0, oid: 0, fields: [], rows: [] };
  }
}

interface Pending {
  merchant_id: string;
  write: SqlFragment | MergeableWrite;
  resolve: (result: pg.QueryResult) => void;
  reject: (error: unknown) => void;
}

const committers = new WeakMap<Pool, GroupCommitter>();

/**
 * Runs one write on the merchant-scoped write `pool`, committed with the writes other requests of
 * this process make meanwhile. Outside a merchant scope, or on any other pool, it runs alone (`run`).
 */
export function runGrouped<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: Pool, write: SqlFragment | MergeableWrite): Promise<pg.QueryResult<R>> {
  const merchant_id = currentMerchant();
  if (merchant_id === undefined || !isMerchantScoped(pool)) return runAlone(pool, write) as Promise<pg.QueryResult<R>>;
  let committer = committers.get(pool);
  if (!committer) {
    committer = new GroupCommitter(pool, DEFAULT_GROUP_COMMIT_LIMITS);
    committers.set(pool, committer);
  }
  return committer.submit(merchant_id, write) as Promise<pg.QueryResult<R>>;
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

  submit(merchant_id: string, write: SqlFragment | MergeableWrite): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ merchant_id, write, resolve, reject });
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
        const fragment = Array.isArray(unit) ? mergedStatement(unit) : statementOf(unit.write);
        const text = numbered(fragment);
        sent.push({ unit, index: statements.push(query({ name: preparedName(fragment, text), text, values: fragment.values })) - 1 });
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
      return Array.isArray(unit) ? splitMerged(unit, result) : [[unit, isMergeable(unit.write) ? unit.write.answer(result) : result]];
    });
  }
}

/** What one statement of a batch writes: one write, or the mergeable writes of one key merged. */
type MergedItem = Pending & { write: MergeableWrite };
type Unit = Pending | MergedItem[];

function isMergeable(write: SqlFragment | MergeableWrite): write is MergeableWrite {
  return 'merge_key' in write;
}

/**
 * The batch's writes by merchant (each merchant's under one scope), with the mergeable writes of each
 * key gathered into one unit. A request has at most one write in flight, so their order is free.
 */
function unitsByMerchant(batch: readonly Pending[]): Map<string, Unit[]> {
  const by_merchant = new Map<string, Unit[]>();
  const merged = new Map<string, Map<unknown, MergedItem[]>>();
  for (const item of batch) {
    let units = by_merchant.get(item.merchant_id);
    if (!units) by_merchant.set(item.merchant_id, (units = []));
    const { write } = item;
    if (!isMergeable(write)) {
      units.push(item);
      continue;
    }
    let keys = merged.get(item.merchant_id);
    if (!keys) merged.set(item.merchant_id, (keys = new Map<unknown, MergedItem[]>()));
    const writes = keys.get(write.merge_key);
    if (writes) writes.push({ ...item, write });
    else {
      const first = [{ ...item, write }];
      keys.set(write.merge_key, first);
      units.push(first);
    }
  }
  for (const [merchant_id, units] of by_merchant) by_merchant.set(merchant_id, units.flatMap(unmergeFew));
  return by_merchant;
}

/** A key's writes too few to merge (`merge_min`) go as units of their own. */
function unmergeFew(unit: Unit): Unit[] {
  if (!Array.isArray(unit)) return [unit];
  const [first] = unit;
  return first && unit.length < first.write.merge_min ? unit : [unit];
}

function mergedStatement(items: readonly MergedItem[]): SqlFragment {
  const [first] = items;
  assert(first !== undefined, 'a merged unit holds writes');
  return first.write.merged(items.map((item) => item.write));
}

/** Each merged write's own answer. */
function splitMerged(items: readonly MergedItem[], result: pg.QueryResult): Array<[Pending, pg.QueryResult]> {
  return items.map((item) => [item, item.write.answer(result)]);
}

function statementOf(write: SqlFragment | MergeableWrite): SqlFragment {
  return isMergeable(write) ? write.merged([write]) : write;
}

/** One write's own statement, answered as its caller reads it. */
async function runAlone(pool: Pool, write: SqlFragment | MergeableWrite): Promise<pg.QueryResult> {
  const result = await run(pool, statementOf(write));
  return isMergeable(write) ? write.answer(result) : result;
}

/** One write in its own scoped transaction, answered with its own result. */
function settleAlone(pool: Pool, item: Pending): Promise<void> {
  return withMerchant(item.merchant_id, () => runAlone(pool, item.write)).then(item.resolve, item.reject);
}

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
 */
export interface GroupCommitLimits {
  /** Statements in one transaction: bounds the time a batch holds its row locks. */
  batch_max: number;
  /** Batches committing at once, each on its own pooled connection. */
  batches_in_flight_max: number;
}

export const DEFAULT_GROUP_COMMIT_LIMITS: GroupCommitLimits = { batch_max: 64, batches_in_flight_max: 4 };

interface Pending {
  merchant_id: string;
  fragment: SqlFragment;
  resolve: (result: pg.QueryResult) => void;
  reject: (error: unknown) => void;
}

const committers = new WeakMap<Pool, GroupCommitter>();

/**
 * Runs one write on the merchant-scoped write `pool`, committed with the writes other requests of
 * this process make meanwhile. Outside a merchant scope, or on any other pool, it runs alone (`run`).
 */
export function runGrouped<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: Pool, fragment: SqlFragment): Promise<pg.QueryResult<R>> {
  const merchant_id = currentMerchant();
  if (merchant_id === undefined || !isMerchantScoped(pool)) return run<R>(pool, fragment);
  let committer = committers.get(pool);
  if (!committer) {
    committer = new GroupCommitter(pool, DEFAULT_GROUP_COMMIT_LIMITS);
    committers.set(pool, committer);
  }
  return committer.submit(merchant_id, fragment) as Promise<pg.QueryResult<R>>;
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

  submit(merchant_id: string, fragment: SqlFragment): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ merchant_id, fragment, resolve, reject });
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
    let results: pg.QueryResult[] | 'rolled_back';
    try {
      results = await this.sendTogether(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    if (results !== 'rolled_back') {
      results.forEach((result, i) => batch[i]?.resolve(result));
      return;
    }
    // Nothing of the batch was written: each write goes again alone, and gets its own answer.
    await Promise.all(batch.map((item) => settleAlone(this.pool, item)));
  }

  /**
   * BEGIN, each write under its merchant's scope, COMMIT: written together on one pipelining
   * connection. Returns every write's result once the batch committed, or 'rolled_back' when one
   * statement failed (the others then fail as the transaction is aborted, and COMMIT rolls back).
   * Throws when the connection broke, or BEGIN failed: then nobody can tell what was written.
   */
  private async sendTogether(batch: Pending[]): Promise<pg.QueryResult[] | 'rolled_back'> {
    const client = await this.pool.connect();
    const onConnectionError = () => {}; // the pending queries reject with it
    client.on('error', onConnectionError);
    const query = client.query.bind(client) as (config: unknown) => Promise<pg.QueryResult>;
    const statements: Promise<pg.QueryResult>[] = [query('BEGIN')];
    let scoped: string | undefined;
    const write_index: number[] = [];
    for (const item of batch) {
      if (item.merchant_id !== scoped) statements.push(query(merchantScopeStatement(item.merchant_id)));
      scoped = item.merchant_id;
      const text = numbered(item.fragment);
      write_index.push(statements.length);
      statements.push(query({ name: statementName(text), text, values: item.fragment.values }));
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
    return write_index.map((i) => (settled[i] as PromiseFulfilledResult<pg.QueryResult>).value);
  }
}

/** One write in its own scoped transaction, answered with its own result. */
function settleAlone(pool: Pool, item: Pending): Promise<void> {
  return withMerchant(item.merchant_id, () => run(pool, item.fragment)).then(item.resolve, item.reject);
}

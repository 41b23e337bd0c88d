/**
 * The sandbox's attempt records, written for concurrent authorize calls by one statement per batch.
 * Calls made in the same turn of the event loop (the payments a group commit released together) are
 * gathered and inserted as one multi-row statement: one send and one statement for the batch, where
 * PostgreSQL's cost is mostly per statement. Under light load a call finds nothing to share with and
 * goes out alone, at once: batching adds no wait of its own.
 *
 * A batch holds each attempt id once, because one statement cannot insert and then update the same
 * row; a repeat made in the same turn goes in a later batch, sent once the earlier ones are done, so
 * it finds the first call's record (sent meanwhile, on another connection, it could be written
 * first). A batch that fails for any reason but a broken connection is sent again one call at a
 * time, so one bad call never fails its neighbours.
 */
import { AssertionError } from '../../../kernel/assert.js';
import type { Pool } from '../../../platform/db.js';
import { isConnectionBroken, joinSql, run, sql } from '../../../platform/db.js';
import type { AuthorizeResult } from '../domain/port.js';
import { notifyDisputeOnCapture } from './sandbox-notifications.js';

/** One authorize call's record; a repeat of its attempt id keeps the stored one and counts the call. */
export interface AttemptRow {
  attempt_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  capture_requested: boolean;
  cvc_check: string;
  result: AuthorizeResult;
  amount_captured: number;
  dispute: object | null;
  funds: string | null;
  created_at_ms: number;
}

/** Rows in one statement: bounds its size and the row locks it holds. */
export const ATTEMPT_BATCH_MAX = 64;

interface Pending {
  row: AttemptRow;
  resolve: (result: AuthorizeResult) => void;
  reject: (error: unknown) => void;
}

export class AttemptRecorder {
  private waiting: Pending[] = [];
  private flush_scheduled = false;

  constructor(private readonly pool: Pool) {}

  /** Records the call and answers the attempt's stored first result: this call's own, unless it repeats one. */
  record(row: AttemptRow): Promise<AuthorizeResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (this.flush_scheduled) return;
      this.flush_scheduled = true;
      // After this turn's I/O callbacks, so the calls that were released together share a batch.
      setImmediate(() => {
        this.flush_scheduled = false;
        void this.sendInOrder(batches(this.waiting.splice(0)));
      });
    });
  }

  /** One batch after another: more than one is rare (a repeat, or more than ATTEMPT_BATCH_MAX calls in a turn). */
  private async sendInOrder(formed: readonly Pending[][]): Promise<void> {
    for (const batch of formed) await this.send(batch);
  }

  private async send(batch: Pending[]): Promise<void> {
    let stored: Map<string, AuthorizeResult>;
    try {
      stored = await this.insert(batch.map((item) => item.row));
    } catch (error) {
      if (batch.length === 1 || isConnectionBroken(error)) {
        for (const item of batch) item.reject(error);
        return;
      }
      await Promise.all(batch.map((item) => this.send([item])));
      return;
    }
    for (const item of batch) {
      const result = stored.get(item.row.attempt_id);
      if (result === undefined) item.reject(new AssertionError(`attempt ${item.row.attempt_id} was written but not returned`));
      else item.resolve(result);
    }
  }

  /**
   * One statement for every row, whatever their number: the rows go as one array per column. A new
   * dispute card's notification is raised with its record if it captured (see sandbox-notifications.ts).
   */
  private async insert(rows: readonly AttemptRow[]): Promise<Map<string, AuthorizeResult>> {
    const column = <K extends keyof AttemptRow>(key: K) => rows.map((row) => row[key]);
    const json = (values: ReadonlyArray<object | null>) => values.map((value) => (value === null ? null : JSON.stringify(value)));
    const written = await run<{ attempt_id: string; result: AuthorizeResult }>(
      this.pool,
      joinSql(
        [
          sql`
      WITH attempt AS (
        INSERT INTO sandbox.attempts AS a
          (attempt_id, merchant_id, amount, currency, capture_requested, cvc_check, result, amount_captured, dispute, funds, created_at_ms)
        SELECT * FROM unnest(${column('attempt_id')}::text[], ${column('merchant_id')}::text[], ${column('amount')}::bigint[],
          ${column('currency')}::text[], ${column('capture_requested')}::boolean[], ${column('cvc_check')}::text[],
          ${json(column('result'))}::jsonb[], ${column('amount_captured')}::bigint[], ${json(column('dispute'))}::jsonb[],
          ${column('funds')}::text[], ${column('created_at_ms')}::bigint[])
        ON CONFLICT (attempt_id) DO UPDATE SET authorize_calls = a.authorize_calls + 1
        RETURNING a.*),`,
          notifyDisputeOnCapture(Math.max(...column('created_at_ms'))),
          sql`
      SELECT attempt_id, result FROM attempt`,
        ],
        ' ',
      ),
    );
    return new Map(written.rows.map((row) => [row.attempt_id, row.result]));
  }
}

/** The calls in batches of at most ATTEMPT_BATCH_MAX, none holding an attempt id twice. */
function batches(calls: readonly Pending[]): Pending[][] {
  const formed: Array<{ items: Pending[]; ids: Set<string> }> = [];
  for (const call of calls) {
    const id = call.row.attempt_id;
    let batch = formed.find((candidate) => candidate.items.length < ATTEMPT_BATCH_MAX && !candidate.ids.has(id));
    if (!batch) formed.push((batch = { items: [], ids: new Set() }));
    batch.items.push(call);
    batch.ids.add(id);
  }
  return formed.map((batch) => batch.items);
}

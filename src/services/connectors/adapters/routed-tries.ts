/**
 * The router's records (connectors.routed_tries, routed_refunds): which connector account each try of
 * an attempt went to, under which id, and how it ended. `begin` must be durable before the processor
 * hears of the try, so the pool given here commits synchronously; answers may be lost in a crash (the
 * processors' records, asked by a status inquiry, then tell).
 */
import { assert } from '../../../kernel/assert.js';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { RowsWrite } from '../../../platform/row-writes.js';
import { insertShape, rowsWrite, updateShape } from '../../../platform/row-writes.js';
import type { AuthorizeResult, RoutingTry } from '../domain/port.js';
import { MAX_TRIES } from '../domain/cascade.js';

export interface StoredTry extends RoutingTry {
  attempt_id: string;
  merchant_id: string;
  try_number: number;
}

interface TryRow {
  attempt_id: string;
  merchant_id: string;
  try_number: number;
  connector_account: string;
  connector: string;
  reference: string;
  outcome: RoutingTry['outcome'];
  reason: string;
  latency_ms: number | null;
  raw_code: string | null;
}

export class RoutedTries {
  /**
   * `pool` commits synchronously (a try's record must be durable before it is sent); `answer_pool` may
   * commit asynchronously: an answer lost in a crash is found again by a status inquiry.
   */
  constructor(
    private readonly pool: Pool,
    private readonly answer_pool: Pool = pool,
  ) {}

  /** The attempt's tries in order (at most MAX_TRIES). */
  async list(attempt_id: string): Promise<StoredTry[]> {
    const found = await run<TryRow>(
      this.pool,
      sql`SELECT attempt_id, merchant_id, try_number, connector_account, connector, reference, outcome, reason, latency_ms, raw_code
        FROM connectors.routed_tries WHERE attempt_id = ${attempt_id} ORDER BY try_number LIMIT ${MAX_TRIES}`,
    );
    return found.rows.map((row) => ({ ...row, try_number: Number(row.try_number) }));
  }

  /**
   * Records a try as pending before it is sent, and returns the try as stored: when another process
   * recorded this try number first (a resend racing it), that one's account and id are the ones to send.
   */
  async begin(entry: StoredTry, now_ms: number): Promise<StoredTry> {
    const stored = await run<TryRow>(
      this.pool,
      sql`INSERT INTO connectors.routed_tries AS t (attempt_id, try_number, merchant_id, connector_account, connector, reference, outcome, reason, created_ms)
        VALUES (${entry.attempt_id}, ${entry.try_number}, ${entry.merchant_id}, ${entry.connector_account}, ${entry.connector}, ${entry.reference},
          'pending', ${entry.reason}, ${now_ms})
        ON CONFLICT (attempt_id, try_number) DO UPDATE SET attempt_id = t.attempt_id
        RETURNING attempt_id, merchant_id, try_number, connector_account, connector, reference, outcome, reason, latency_ms, raw_code`,
    );
    const row = stored.rows[0];
    assert(row !== undefined, `try ${entry.try_number} of ${entry.attempt_id} was not recorded`);
    return { ...row, try_number: Number(row.try_number) };
  }

  /** Records how a try ended (or what an inquiry found of it later). */
  async answer(entry: StoredTry, result: AuthorizeResult | null): Promise<void> {
    await run(this.answer_pool, answerWrite(entry, result));
  }

  /** The result stored with a try (a soft decline an interrupted cascade left behind). */
  async result(attempt_id: string, try_number: number): Promise<AuthorizeResult | null> {
    const found = await run<{ result: AuthorizeResult | null }>(
      this.pool,
      sql`SELECT result FROM connectors.routed_tries WHERE attempt_id = ${attempt_id} AND try_number = ${try_number}`,
    );
    return found.rows[0]?.result ?? null;
  }

  /** Records, before the refund is sent, which account and attempt reference a refund goes to. */
  async beginRefund(refund_id: string, target: StoredTry, now_ms: number): Promise<void> {
    await run(
      this.pool,
      sql`INSERT INTO connectors.routed_refunds (refund_id, attempt_id, merchant_id, connector_account, reference, created_ms)
        VALUES (${refund_id}, ${target.attempt_id}, ${target.merchant_id}, ${target.connector_account}, ${target.reference}, ${now_ms})
        ON CONFLICT (refund_id) DO NOTHING`,
    );
  }

  async refundAccount(refund_id: string): Promise<{ merchant_id: string; connector_account: string } | null> {
    const found = await run<{ merchant_id: string; connector_account: string }>(
      this.pool,
      sql`SELECT merchant_id, connector_account FROM connectors.routed_refunds WHERE refund_id = ${refund_id}`,
    );
    return found.rows[0] ?? null;
  }
}

/**
 * A new attempt's first try, recorded by the attempt's own statement (in its merchant's scope). No
 * conflict is tolerated: a try already there means the attempt was recorded before, and the write fails.
 */
const INSERT_FIRST_TRY = insertShape(
  'connectors.routed_tries',
  { attempt_id: 'text', merchant_id: 'text', connector_account: 'text', connector: 'text', reference: 'text', reason: 'text', created_ms: 'bigint' },
  { try_number: '1', outcome: "'pending'" },
);

export function firstTryWrite(entry: StoredTry, now_ms: number): RowsWrite {
  assert(entry.try_number === 1, `try ${entry.try_number} of ${entry.attempt_id} is not a first try`);
  const { attempt_id, merchant_id, connector_account, connector, reference, reason } = entry;
  return rowsWrite(INSERT_FIRST_TRY, [[attempt_id, merchant_id, connector_account, connector, reference, reason, now_ms]]);
}

const ANSWER_TRY = updateShape('connectors.routed_tries', {
  set: { outcome: 'text', latency_ms: 'int', raw_code: 'text', result: 'jsonb' },
  key: { attempt_id: 'text', try_number: 'smallint' },
});

/** How a try ended: written alone (`RoutedTries.answer`) or with the attempt's answer (a planned first try). */
export function answerWrite(entry: StoredTry, result: AuthorizeResult | null): RowsWrite {
  const stored = result ? JSON.stringify({ ...result, routing: undefined }) : null;
  return rowsWrite(ANSWER_TRY, [[entry.outcome, entry.latency_ms, entry.raw_code, stored, entry.attempt_id, entry.try_number]]);
}

/** The trace shown on the charge: the tries without the bookkeeping columns. */
export function traceOf(tries: readonly StoredTry[]): RoutingTry[] {
  return tries.map(({ connector_account, connector, reference, outcome, latency_ms, raw_code, reason }) => ({
    connector_account,
    connector,
    reference,
    outcome,
    latency_ms,
    raw_code,
    reason,
  }));
}

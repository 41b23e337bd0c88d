import type pg from 'pg';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { ExceptionClass, ExceptionStatus } from '../domain/reconciliation.js';

/** SQL of reconciliation: runs, their exceptions, and the lines matched to Payrail's objects. */

export interface MatchKey {
  reference: string;
  type: string;
}

export interface MatchRow extends MatchKey {
  merchant_id: string;
  report_id: string;
  line: number;
}

export function matchKey(key: MatchKey): string {
  return `${key.type}\u0000${key.reference}`;
}

/** Where each of `keys` was first matched, if it was. */
export async function matchesOf(db: Db, keys: readonly MatchKey[]): Promise<Map<string, MatchRow>> {
  if (keys.length === 0) return new Map();
  const result = await run<MatchRow>(
    db,
    sql`SELECT m.reference, m.type, m.merchant_id, m.report_id, m.line FROM settlement.reconciliation_matches m
    JOIN unnest(${keys.map((k) => k.reference)}::text[], ${keys.map((k) => k.type)}::text[]) AS k(reference, type)
      ON m.reference = k.reference COLLATE "C" AND m.type = k.type`,
  );
  return new Map(result.rows.map((row) => [matchKey(row), row]));
}

/** Records first matches; a key matched before keeps its first line. */
export async function recordMatches(tx: pg.PoolClient, rows: readonly MatchRow[]): Promise<void> {
  if (rows.length === 0) return;
  await run(
    tx,
    sql`INSERT INTO settlement.reconciliation_matches (reference, type, merchant_id, report_id, line)
    SELECT * FROM unnest(${rows.map((r) => r.reference)}::text[], ${rows.map((r) => r.type)}::text[], ${rows.map((r) => r.merchant_id)}::text[],
      ${rows.map((r) => r.report_id)}::text[], ${rows.map((r) => r.line)}::int[])
    ON CONFLICT (reference, type) DO NOTHING`,
  );
}

export interface RunTotals {
  lines: number;
  matched: number;
  auto_fixed: number;
  open: number;
}

export interface RunRow extends RunTotals {
  id: string;
  report_id: string;
  report_date: string;
  started_at: number;
  completed_at: number;
  runs: number;
}

/** Opens (or re-opens) a report's run, so its exceptions can refer to it; the totals are written at the end. */
export async function openRun(tx: pg.PoolClient, run_row: Pick<RunRow, 'id' | 'report_id' | 'report_date' | 'started_at'>): Promise<void> {
  await run(
    tx,
    sql`INSERT INTO settlement.reconciliation_runs AS r (id, report_id, report_date, lines, matched, auto_fixed, open, started_at, completed_at)
    VALUES (${run_row.id}, ${run_row.report_id}, ${run_row.report_date}, 0, 0, 0, 0, ${run_row.started_at}, ${run_row.started_at})
    ON CONFLICT (id) DO UPDATE SET runs = r.runs + 1, started_at = EXCLUDED.started_at`,
  );
}

export async function closeRun(tx: pg.PoolClient, id: string, totals: RunTotals, completed_at: number): Promise<void> {
  await run(
    tx,
    sql`UPDATE settlement.reconciliation_runs SET lines = ${totals.lines}, matched = ${totals.matched}, auto_fixed = ${totals.auto_fixed},
      open = ${totals.open}, completed_at = ${completed_at} WHERE id = ${id}`,
  );
}

export interface ExceptionRow {
  id: string;
  run_id: string;
  merchant_id: string | null;
  class: ExceptionClass;
  status: ExceptionStatus;
  reference: string;
  line: number | null;
  detail: string;
  report_line: Record<string, unknown> | null;
  payrail_record: Record<string, unknown> | null;
  adjustment: number | null;
  transfer_id: string | null;
  created: number;
}

/** Inserts exceptions not recorded before; returns the ids that are new (a re-run returns none). */
export async function insertExceptions(tx: pg.PoolClient, rows: readonly ExceptionRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const result = await run<{ id: string }>(
    tx,
    sql`INSERT INTO settlement.reconciliation_exceptions
      (id, run_id, merchant_id, class, status, reference, line, detail, report_line, payrail_record, adjustment, transfer_id, created)
    SELECT * FROM unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.run_id)}::text[], ${rows.map((r) => r.merchant_id)}::text[],
      ${rows.map((r) => r.class)}::text[], ${rows.map((r) => r.status)}::text[], ${rows.map((r) => r.reference)}::text[],
      ${rows.map((r) => r.line)}::int[], ${rows.map((r) => r.detail)}::text[], ${rows.map((r) => JSON.stringify(r.report_line))}::jsonb[],
      ${rows.map((r) => JSON.stringify(r.payrail_record))}::jsonb[], ${rows.map((r) => r.adjustment)}::bigint[], ${rows.map((r) => r.transfer_id)}::text[], ${rows.map((r) => r.created)}::bigint[])
    ON CONFLICT (id) DO NOTHING RETURNING id`,
  );
  return new Set(result.rows.map((row) => row.id));
}

/** Runs or exceptions listed at once (a page; one more is read to tell whether more follow). */
export const LIST_LIMIT_MAX = 100;

/** Runs, newest report first, optionally of one day. */
export async function listRuns(db: Db, filter: { date?: string | undefined; limit: number }): Promise<RunRow[]> {
  assert(Number.isInteger(filter.limit) && filter.limit >= 1 && filter.limit <= LIST_LIMIT_MAX + 1, 'list limit out of range');
  const result = await run<RunRow>(
    db,
    filter.date === undefined
      ? sql`SELECT * FROM settlement.reconciliation_runs ORDER BY report_date DESC, id DESC LIMIT ${filter.limit}`
      : sql`SELECT * FROM settlement.reconciliation_runs WHERE report_date = ${filter.date} ORDER BY id DESC LIMIT ${filter.limit}`,
  );
  return result.rows;
}

export async function findRun(db: Db, id: string): Promise<RunRow | undefined> {
  return (await run<RunRow>(db, sql`SELECT * FROM settlement.reconciliation_runs WHERE id = ${id}`)).rows[0];
}

/** A run's exceptions in id order after `after`, at most `limit`. */
export async function exceptionsOf(db: Db, run_id: string, after: string, limit: number): Promise<ExceptionRow[]> {
  assert(Number.isInteger(limit) && limit >= 1 && limit <= LIST_LIMIT_MAX + 1, 'list limit out of range');
  return (
    await run<ExceptionRow>(db, sql`SELECT * FROM settlement.reconciliation_exceptions WHERE run_id = ${run_id} AND id > ${after} ORDER BY id LIMIT ${limit}`)
  ).rows;
}

/** Exceptions still open, across runs: what the alert's gauge reads. */
export async function openExceptionCount(db: Db): Promise<number> {
  const result = await run<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM settlement.reconciliation_exceptions WHERE status = 'open'`);
  return result.rows[0]?.n ?? 0;
}

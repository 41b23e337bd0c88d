import { assert } from '../../../kernel/assert.js';
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { kindsBySource, postTransfers } from '../../ledger/index.js';
import type { TransferRequest } from '../../ledger/index.js';
import type { ReportSource } from '../adapters/settlement-report-csv.js';
import { stageReport } from './stage-report.js';
import type { LineOutcome, StagedLine } from '../domain/settlement-posting.js';
import { requiredKind, settledSource, settlementTransfer } from '../domain/settlement-posting.js';

/**
 * Imports a processor settlement report into the ledger, in two phases, each safe to crash in:
 *
 * 1. **Stage** (stage-report.ts): the report is parsed as it streams in and every line is written to
 *    `settlement.report_lines` as `pending`, in short statements. A malformed or cut-short report
 *    throws (SettlementReportError, naming the line) and what was staged of it is removed: nothing
 *    of it is kept. A report whose batch was staged before is not staged again; the same batch with
 *    other content is refused.
 * 2. **Post**, POST_CHUNK lines per transaction: each chunk's transfers and its lines' outcomes commit
 *    together, so a crash leaves every line either posted with its transfer or pending without one,
 *    and the next import (or run) of the report posts exactly the pending ones. Transfer ids derive
 *    from the settled object, so even a line posted twice by a bug would post once.
 *
 * Imports of one connector's reports are serialized by a session advisory lock.
 */
export interface SettlementDeps {
  /** The system role's pool: reports span merchants. */
  pool: Pool;
  clock: Clock;
}

export interface ImportSummary {
  connector: string;
  batch_number: number;
  lines: number;
  /** false when the batch had been imported before (this import changed nothing it had done). */
  staged_now: boolean;
  outcomes: Record<LineOutcome, number>;
}

const POST_CHUNK = 500;
/** Post chunks per import call: 5 000 000 lines at most, the report's own limit. */
const POST_CHUNKS_MAX = 10_000;

export async function importSettlementReport(deps: SettlementDeps, connector: string, source: ReportSource): Promise<ImportSummary> {
  // One import of a connector's reports at a time: a session lock on a connection of its own, held
  // without a transaction (see stage-report.ts), and gone with the connection if the process dies.
  const client = await deps.pool.connect();
  try {
    await run(client, sql`SELECT pg_advisory_lock(hashtext(${`settlement-import:${connector}`}))`);
    const staged = await stageReport(client, deps.clock, connector, source);
    for (let chunk = 0; chunk < POST_CHUNKS_MAX; chunk++) {
      if ((await postChunk(deps.pool, connector, staged.batch_number)) < POST_CHUNK) break;
    }
    await run(
      deps.pool,
      sql`UPDATE settlement.reports SET status = 'posted', posted_at_ms = ${deps.clock.now_ms()}
      WHERE connector = ${connector} AND batch_number = ${staged.batch_number} AND status = 'staged'
        AND NOT EXISTS (SELECT 1 FROM settlement.report_lines WHERE connector = ${connector} AND batch_number = ${staged.batch_number} AND outcome = 'pending')`,
    );
    return { connector, ...staged, outcomes: await outcomesOf(deps.pool, connector, staged.batch_number) };
  } finally {
    // Closed, not returned to the pool: the lock goes with the connection, whatever happened to it.
    client.release(true);
  }
}

/** Posts up to POST_CHUNK pending lines of a batch, with their outcomes, in one transaction; returns how many. */
async function postChunk(pool: Pool, connector: string, batch_number: number): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const lines = (
      await run<StagedLine>(
        tx,
        sql`SELECT connector, batch_number, line, merchant_id, type, psp_reference, modification_reference, currency, gross, fees, net, created_s
        FROM settlement.report_lines WHERE connector = ${connector} AND batch_number = ${batch_number} AND outcome = 'pending'
        ORDER BY line LIMIT ${POST_CHUNK}`,
      )
    ).rows;
    if (lines.length === 0) return 0;
    const sources = lines.map((line) => ({ merchant_id: line.merchant_id, source_id: settledSource(line) }));
    const kinds = await kindsBySource(tx, sources);
    const settled_now = new Set<string>();
    const decided = lines.map((line, index): { line: StagedLine; outcome: LineOutcome; transfer: TransferRequest | null } => {
      const transfer = settlementTransfer(line);
      const source = sources[index];
      assert(source !== undefined, 'one source per line');
      const key = `${source.merchant_id}\u0000${source.source_id}`;
      const has = kinds.get(key) ?? new Set();
      const required = requiredKind(line);
      if (transfer === null) return { line, outcome: 'not_posted', transfer };
      if (required !== null && !has.has(required)) return { line, outcome: 'unmatched', transfer: null };
      if (has.has(transfer.kind) || settled_now.has(`${transfer.kind}\u0000${key}`)) return { line, outcome: 'already_settled', transfer: null };
      settled_now.add(`${transfer.kind}\u0000${key}`);
      return { line, outcome: 'posted', transfer };
    });
    const transfers = decided.flatMap((d) => (d.transfer ? [d.transfer] : []));
    const results = await postTransfers(tx, transfers);
    const refused = results.filter((r) => r.result !== 'ok');
    assert(refused.length === 0, `settlement transfers refused: ${refused.map((r) => `${r.id} ${r.result}`).join(', ')}`);
    await run(
      tx,
      sql`UPDATE settlement.report_lines l SET outcome = d.outcome, transfer_id = d.transfer_id
      FROM unnest(${decided.map((d) => d.line.line)}::int[], ${decided.map((d) => d.outcome)}::text[], ${decided.map((d) => d.transfer?.id ?? null)}::text[])
        AS d(line, outcome, transfer_id)
      WHERE l.connector = ${connector} AND l.batch_number = ${batch_number} AND l.line = d.line`,
    );
    return lines.length;
  });
}

async function outcomesOf(pool: Pool, connector: string, batch_number: number): Promise<Record<LineOutcome, number>> {
  const counted = await run<{ outcome: LineOutcome; lines: number }>(
    pool,
    sql`SELECT outcome, count(*)::int AS lines FROM settlement.report_lines WHERE connector = ${connector} AND batch_number = ${batch_number} GROUP BY outcome`,
  );
  const outcomes: Record<LineOutcome, number> = { pending: 0, posted: 0, already_settled: 0, unmatched: 0, not_posted: 0 };
  for (const row of counted.rows) outcomes[row.outcome] = row.lines;
  return outcomes;
}

import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../../../kernel/clock.js';
import { run, sql } from '../../../platform/db.js';
import type { ReportSource } from '../adapters/settlement-report-csv.js';
import { parseSettlementReport } from '../adapters/settlement-report-csv.js';
import { SettlementReportError } from '../domain/settlement-report.js';
import type { LineOutcome, StagedLine } from '../domain/settlement-posting.js';
import { stageLine } from '../domain/settlement-posting.js';

/**
 * Stages a report: every line written to `settlement.report_lines` as `pending` while the report
 * streams in, the report's row `staging` until the last line has been read and checked, then
 * `staged`. Each chunk is its own short statement, never one transaction around the whole file: an
 * open writing transaction holds back every outbox consumer's horizon on the server (they read below
 * the oldest running transaction), so a long report would stall the ledger for as long as it streams.
 *
 * A report refused midway has its lines and row removed before the error is rethrown; if the process
 * dies instead, the row stays `staging` and the next import of that batch starts it over. Only a
 * `staged` report is ever posted. The caller holds the connector's import lock for the duration.
 */
export interface StageResult {
  batch_number: number;
  lines: number;
  /** false when the batch was staged before (this import wrote nothing). */
  staged_now: boolean;
}

const STAGE_CHUNK = 1_000;

export async function stageReport(client: pg.PoolClient, clock: Clock, connector: string, source: ReportSource): Promise<StageResult> {
  const hash = createHash('sha256');
  let batch_number = 0;
  let earlier: { sha256: string } | undefined;
  let writing = false;
  let lines = 0;
  let pending: (StagedLine & { outcome: LineOutcome })[] = [];
  try {
    for await (const line of parseSettlementReport(hashed(source, hash))) {
      if (lines === 0) {
        batch_number = line.batch_number;
        earlier = await stagedBefore(client, connector, batch_number);
        writing = earlier === undefined;
        if (writing) await startStaging(client, clock, connector, batch_number);
      }
      lines += 1;
      if (!writing) continue; // still read to the end: the content must be the same
      pending.push(stageLine(connector, line));
      if (pending.length === STAGE_CHUNK) {
        await insertLines(client, pending);
        pending = [];
      }
    }
    const sha256 = hash.digest('hex');
    if (earlier) {
      if (earlier.sha256 !== sha256) throw new SettlementReportError(0, `batch ${batch_number} of ${connector} was imported before with other content`);
      return { batch_number, lines, staged_now: false };
    }
    await insertLines(client, pending);
    await run(
      client,
      sql`UPDATE settlement.reports SET sha256 = ${sha256}, lines = ${lines}, status = 'staged'
      WHERE connector = ${connector} AND batch_number = ${batch_number} AND status = 'staging'`,
    );
    return { batch_number, lines, staged_now: true };
  } catch (error) {
    if (writing) await discardStaging(client, connector, batch_number);
    throw error;
  }
}

/** A report staged (or posted) before; one left `staging` by a dead import does not count. */
async function stagedBefore(client: pg.PoolClient, connector: string, batch_number: number): Promise<{ sha256: string } | undefined> {
  const found = await run<{ sha256: string }>(
    client,
    sql`SELECT sha256 FROM settlement.reports WHERE connector = ${connector} AND batch_number = ${batch_number} AND status <> 'staging'`,
  );
  return found.rows[0];
}

/** The report's row, `staging`: an earlier import that died midway leaves one, whose lines are dropped. */
async function startStaging(client: pg.PoolClient, clock: Clock, connector: string, batch_number: number): Promise<void> {
  await run(client, sql`DELETE FROM settlement.report_lines WHERE connector = ${connector} AND batch_number = ${batch_number}`);
  await run(
    client,
    sql`INSERT INTO settlement.reports (connector, batch_number, sha256, lines, status, imported_at_ms)
    VALUES (${connector}, ${batch_number}, '', 0, 'staging', ${clock.now_ms()})
    ON CONFLICT (connector, batch_number) DO UPDATE SET imported_at_ms = EXCLUDED.imported_at_ms`,
  );
}

async function discardStaging(client: pg.PoolClient, connector: string, batch_number: number): Promise<void> {
  await run(client, sql`DELETE FROM settlement.report_lines WHERE connector = ${connector} AND batch_number = ${batch_number}`);
  await run(client, sql`DELETE FROM settlement.reports WHERE connector = ${connector} AND batch_number = ${batch_number} AND status = 'staging'`);
}

async function insertLines(client: pg.PoolClient, lines: readonly (StagedLine & { outcome: LineOutcome })[]): Promise<void> {
  if (lines.length === 0) return;
  const column = <K extends keyof (StagedLine & { outcome: LineOutcome })>(key: K) => lines.map((l) => l[key]);
  await run(
    client,
    sql`INSERT INTO settlement.report_lines
      (connector, batch_number, line, merchant_id, type, psp_reference, modification_reference, currency, gross, fees, net, created_s, outcome)
    SELECT * FROM unnest(${column('connector')}::text[], ${column('batch_number')}::bigint[], ${column('line')}::int[], ${column('merchant_id')}::text[],
      ${column('type')}::text[], ${column('psp_reference')}::text[], ${column('modification_reference')}::text[], ${column('currency')}::text[],
      ${column('gross')}::bigint[], ${column('fees')}::bigint[], ${column('net')}::bigint[], ${column('created_s')}::bigint[], ${column('outcome')}::text[])`,
  );
}

async function* hashed(source: ReportSource, hash: ReturnType<typeof createHash>): AsyncGenerator<string | Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

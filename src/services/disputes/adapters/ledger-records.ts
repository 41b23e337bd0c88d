import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { DisputeFacts, DisputeRecords } from '../../ledger/index.js';

/** What `ledger verify` reconciles disputes against, read from the disputes schema by the service that owns it. */
const SELECT_FACTS = rawSql(`SELECT d.merchant_id, d.id, d.amount, d.state->>'currency' AS currency,
  (d.state->>'funds_withdrawn_at') IS NOT NULL AS withdrawn, (d.state->>'funds_reinstated_at') IS NOT NULL AS reinstated
  FROM disputes.disputes d `);

interface FactsRow extends Omit<DisputeFacts, 'amount'> {
  amount: string | number;
}

async function read(db: Db, rest: SqlFragment): Promise<DisputeFacts[]> {
  const result = await run<FactsRow>(db, joinSql([SELECT_FACTS, rest], ''));
  return result.rows.map((row) => ({ ...row, amount: Number(row.amount) }));
}

export const disputeLedgerRecords: DisputeRecords = {
  withFunds: (db, after, limit) =>
    read(
      db,
      sql`WHERE (d.merchant_id, d.id) > (${after[0]}, ${after[1]}) AND (d.state->>'funds_withdrawn_at') IS NOT NULL ORDER BY d.merchant_id, d.id LIMIT ${limit}`,
    ),
  byIds: (db, sources) =>
    read(
      db,
      sql`JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, id)
      ON d.merchant_id = k.merchant_id AND d.id = k.id COLLATE "C"`,
    ),
};

import type { Db } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { TransferKind } from '../domain/transfer.js';

/**
 * The ledger's transfers by the object they moved money for, for reconciliation against a
 * processor's report: a report names a charge or refund by id alone, and the ledger's unique index
 * on (source_id, merchant_id, kind) finds its merchant, currency and amounts without a scan.
 */

export interface SourceEntry {
  merchant_id: string;
  source_id: string;
  kind: TransferKind;
  id: string;
  /** The currency the processor moved the money in: a converted transfer's presentment currency (docs/currencies.md). */
  currency: string;
  /** What the merchant's balance gained (negative when it lost), and what platform fees gained, in the ledger's currency. */
  net: number;
  fee: number;
  /** For a converted transfer, the amount in `currency` (the charge's): what the processor moved. */
  converted_from: number | null;
  created: number;
}

/** A converted transfer is named to the processor by its presentment currency and amount. */
const COLUMNS = `merchant_id, source_id, kind, id, coalesce(conversion ->> 'from_currency', currency) AS currency, net, fee,
  (conversion ->> 'from_amount')::bigint AS converted_from, created`;

/** Sources asked for in one call at most (one batch of report lines). */
export const SOURCE_ENTRIES_MAX = 10_000;

/** Every transfer of the given sources, of any kind and merchant. */
export async function entriesBySource(db: Db, source_ids: readonly string[]): Promise<SourceEntry[]> {
  assert(source_ids.length <= SOURCE_ENTRIES_MAX, `at most ${SOURCE_ENTRIES_MAX} sources per call`);
  if (source_ids.length === 0) return [];
  return (await run<SourceEntry>(db, joinSql([rawSql(`SELECT ${COLUMNS} FROM ledger.transfers `), sql`WHERE source_id = ANY(${source_ids}::text[])`], '')))
    .rows;
}

/**
 * Transfers of `kind` posted for a time in [from_s, to_s) whose source id falls in [from_id, to_id),
 * after `after` (by source id, then merchant), at most `limit`. Payrail's ids sort by creation time,
 * so the id range (the sources created in a window) is what the index reads; the time filters it.
 */
export async function sourcesBetween(
  db: Db,
  kind: TransferKind,
  range: { from_id: string; to_id: string; from_s: number; to_s: number },
  after: readonly [string, string],
  limit: number,
): Promise<SourceEntry[]> {
  assert(Number.isInteger(limit) && limit >= 1 && limit <= SOURCE_ENTRIES_MAX, 'page size out of range');
  return (
    await run<SourceEntry>(
      db,
      joinSql(
        [
          rawSql(`SELECT ${COLUMNS} FROM ledger.transfers `),
          sql`WHERE source_id >= ${range.from_id} AND source_id < ${range.to_id} AND (source_id, merchant_id) > (${after[0]}, ${after[1]})
        AND kind = ${kind} AND created >= ${range.from_s} AND created < ${range.to_s}
      ORDER BY source_id, merchant_id LIMIT ${limit}`,
        ],
        '',
      ),
    )
  ).rows;
}

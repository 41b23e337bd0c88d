import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
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
  currency: string;
  /** What the merchant's balance gained (negative when it lost), and what platform fees gained. */
  net: number;
  fee: number;
  created: number;
}

/** Sources asked for in one call at most (one batch of report lines). */
export const SOURCE_ENTRIES_MAX = 10_000;

/** Every transfer of the given sources, of any kind and merchant. */
export async function entriesBySource(db: Db, source_ids: readonly string[]): Promise<SourceEntry[]> {
  assert(source_ids.length <= SOURCE_ENTRIES_MAX, `at most ${SOURCE_ENTRIES_MAX} sources per call`);
  if (source_ids.length === 0) return [];
  return (
    await run<SourceEntry>(
      db,
      sql`SELECT merchant_id, source_id, kind, id, currency, net, fee, created FROM ledger.transfers
      WHERE source_id = ANY(${source_ids}::text[])`,
    )
  ).rows;
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
      sql`SELECT merchant_id, source_id, kind, id, currency, net, fee, created FROM ledger.transfers
      WHERE source_id >= ${range.from_id} AND source_id < ${range.to_id} AND (source_id, merchant_id) > (${after[0]}, ${after[1]})
        AND kind = ${kind} AND created >= ${range.from_s} AND created < ${range.to_s}
      ORDER BY source_id, merchant_id LIMIT ${limit}`,
    )
  ).rows;
}

import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';

/** A transfer the ledger posted for an object, with its postings (the dashboard's payment timeline). */
export interface PostedTransfer {
  id: string;
  at: number;
  kind: string;
  postings: { account: string; amount: number; currency: string }[];
}

/** Sources one call reads at most: a payment's charges and refunds. */
export const POSTED_SOURCES_MAX = 200;

/** Every transfer of the merchant's `source_ids` (charges, refunds), oldest first, with its postings. */
export async function transfersOfSources(db: Db, merchant_id: string, source_ids: readonly string[]): Promise<PostedTransfer[]> {
  if (source_ids.length === 0) return [];
  const result = await run<{ id: string; created: string; kind: string; postings: { account: string; amount: number; currency: string }[] }>(
    db,
    sql`
    SELECT t.id, t.created, t.kind,
      (SELECT json_agg(json_build_object('account', p.account, 'amount', p.amount, 'currency', p.currency) ORDER BY p.index)
       FROM ledger.postings p WHERE p.merchant_id = t.merchant_id AND p.transfer_id = t.id) AS postings
    FROM ledger.transfers t
    WHERE t.source_id = ANY(${source_ids.slice(0, POSTED_SOURCES_MAX)}::text[]) AND t.merchant_id = ${merchant_id}
    ORDER BY t.created, t.id`,
  );
  return result.rows.map((row) => ({
    id: row.id,
    at: Number(row.created),
    kind: row.kind,
    postings: (row.postings ?? []).map((p) => ({ ...p, amount: Number(p.amount) })),
  }));
}

import type { Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { releaseTransfer } from '../domain/flows.js';
import type { TransferKind, TransferRequest } from '../domain/transfer.js';
import { isPosted } from '../domain/transfer.js';
import { transferId } from '../domain/ids.js';
import { postTransfers } from '../adapters/store.js';

export const RELEASE_BATCH_MAX = 500;
/** Batches one `releaseAllDue` call posts at most; what is left waits for the next call. */
export const RELEASE_ROUNDS_MAX = 20;
/** Times `releaseAllDue` waits for other processes' batches and releases what they left, at most. */
const IN_FLIGHT_WAITS_MAX = 3;

/**
 * Moves the nets of captures whose settlement delay has passed (by `now_s`, from the injected clock)
 * from pending to available: at most `limit` per call, in one transaction that posts the release
 * transfers and removes their schedule rows. SKIP LOCKED lets several processes share the work.
 * Returns how many were released.
 */
export async function releaseDue(pool: Pool, now_s: number, limit = RELEASE_BATCH_MAX): Promise<number> {
  assert(Number.isInteger(limit) && limit >= 1 && limit <= RELEASE_BATCH_MAX, 'release batch out of range');
  const due = await run<{ due: boolean }>(pool, sql`SELECT EXISTS (SELECT 1 FROM ledger.releases WHERE available_on <= ${now_s}) AS due`);
  if (due.rows[0]?.due !== true) return 0;
  return withTransaction(pool, async (tx) => {
    const rows = await run<{
      merchant_id: string;
      transfer_id: string;
      available_on: number;
      currency: string;
      source_id: string;
      net: number;
      cause_event_id: string;
      kind: TransferKind;
    }>(
      tx,
      sql`
      SELECT r.merchant_id, r.transfer_id, r.available_on, t.currency, t.source_id, t.net, t.cause_event_id, t.kind
      FROM ledger.releases r JOIN ledger.transfers t ON t.merchant_id = r.merchant_id AND t.id = r.transfer_id
      WHERE r.available_on <= ${now_s}
      ORDER BY r.available_on
      LIMIT ${limit}
      FOR UPDATE OF r SKIP LOCKED`,
    );
    if (rows.rows.length === 0) return 0;
    const requests = rows.rows.map((row) => releaseOf({ ...row, cause: { event_id: row.cause_event_id } }));
    const results = await postTransfers(tx, requests);
    const refused = results.filter((r) => !isPosted(r.result));
    if (refused.length > 0)
      throw new Error(
        `release refused: ${refused
          .slice(0, 5)
          .map((r) => `${r.id} ${r.result}`)
          .join(', ')}`,
      );
    await run(
      tx,
      sql`DELETE FROM ledger.releases r USING unnest(${rows.rows.map((r) => r.merchant_id)}::text[], ${rows.rows.map((r) => r.transfer_id)}::text[]) AS k(merchant_id, transfer_id)
      WHERE r.merchant_id = k.merchant_id AND r.transfer_id = k.transfer_id COLLATE "C"`,
    );
    return rows.rows.length;
  });
}

/**
 * Releases everything due by `now_s`, batch after batch, up to RELEASE_ROUNDS_MAX batches, then waits
 * for the batches other processes hold: SKIP LOCKED passes them by, and a payout run reading balances
 * right after this call must see them posted, or it would pay part of what is due (issue 19).
 */
export async function releaseAllDue(pool: Pool, now_s: number): Promise<number> {
  let total = 0;
  for (let round = 0; round < RELEASE_ROUNDS_MAX; round++) {
    const released = await releaseDue(pool, now_s);
    total += released;
    if (released < RELEASE_BATCH_MAX) break;
  }
  // What a batch in flight left (it rolled back, or another waiter held it as this one looked) is released here.
  for (let wait = 0; wait < IN_FLIGHT_WAITS_MAX && (await dueAfterBatchesInFlight(pool, now_s)); wait++) total += await releaseDue(pool, now_s);
  return total;
}

/** Waits until no release due by `now_s` is locked by another transaction; whether any is still due then. */
async function dueAfterBatchesInFlight(pool: Pool, now_s: number): Promise<boolean> {
  const left = await withTransaction(pool, (tx) => run(tx, sql`SELECT 1 FROM ledger.releases WHERE available_on <= ${now_s} FOR UPDATE`));
  return left.rows.length > 0;
}

/**
 * A capture's release, or a destination charge leg's (connect-charges): the same movement from pending
 * to available, under its own kind so reconciliation never takes a transfer's release for a charge's.
 */
function releaseOf(held: Parameters<typeof releaseTransfer>[0] & { kind: TransferKind }): TransferRequest {
  const release = releaseTransfer(held);
  if (held.kind === 'capture') return release;
  return { ...release, kind: 'connect_release', id: transferId('connect_release', held.source_id, held.available_on) };
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Transfer, TransferReversal } from '../domain/transfer.js';
import { EMBEDDED_REVERSALS } from '../domain/transfer.js';

/** connect.transfers and connect.transfer_reversals: the platform's rows, written through the write pipeline. */

export function insertTransfer(transfer: Transfer): SqlFragment {
  return sql`INSERT INTO connect.transfers (merchant_id, id, created, destination, transfer_group, amount, amount_reversed, state, version)
    VALUES (${transfer.merchant_id}, ${transfer.id}, ${transfer.created}, ${transfer.destination}, ${transfer.transfer_group}, ${transfer.amount},
      ${transfer.amount_reversed}, ${JSON.stringify(transfer)}::jsonb, ${transfer.version})`;
}

/** Stores `after` only if the row is still at `before`'s version: the guard fails otherwise. */
export function updateTransfer(before: Transfer, after: Transfer): SqlFragment {
  return sql`UPDATE connect.transfers SET amount_reversed = ${after.amount_reversed}, state = ${JSON.stringify(after)}::jsonb, version = ${after.version}
    WHERE merchant_id = ${before.merchant_id} AND id = ${before.id} AND version = ${before.version}`;
}

export function insertReversal(reversal: TransferReversal): SqlFragment {
  return sql`INSERT INTO connect.transfer_reversals (merchant_id, id, transfer_id, created, state, version)
    VALUES (${reversal.merchant_id}, ${reversal.id}, ${reversal.transfer_id}, ${reversal.created}, ${JSON.stringify(reversal)}::jsonb, ${reversal.version})`;
}

export function updateReversal(before: TransferReversal, after: TransferReversal): SqlFragment {
  return sql`UPDATE connect.transfer_reversals SET state = ${JSON.stringify(after)}::jsonb, version = ${after.version}
    WHERE merchant_id = ${before.merchant_id} AND id = ${before.id} AND version = ${before.version}`;
}

export async function getTransfer(db: Db, merchant_id: string, id: string): Promise<Transfer> {
  const result = await run<{ state: Transfer }>(db, sql`SELECT state FROM connect.transfers WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  const transfer = result.rows[0]?.state;
  if (!transfer) throw new PayrailError('resource_missing', { param: 'id', message: `No such transfer: '${id.slice(0, 64)}'` });
  return transfer;
}

export async function getReversal(db: Db, merchant_id: string, transfer_id: string, id: string): Promise<TransferReversal> {
  const result = await run<{ state: TransferReversal }>(
    db,
    sql`SELECT state FROM connect.transfer_reversals WHERE merchant_id = ${merchant_id} AND id = ${id} AND transfer_id = ${transfer_id}`,
  );
  const reversal = result.rows[0]?.state;
  if (!reversal) throw new PayrailError('resource_missing', { param: 'id', message: `No such transfer reversal: '${id.slice(0, 64)}'` });
  return reversal;
}

/** A reversal by its id alone, for a balance transaction's `source`. */
export async function findReversal(db: Db, merchant_id: string, id: string): Promise<TransferReversal | undefined> {
  const result = await run<{ state: TransferReversal }>(
    db,
    sql`SELECT state FROM connect.transfer_reversals WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  return result.rows[0]?.state;
}

/** The newest reversals of a transfer, as a transfer embeds them; none to read while nothing was reversed. */
export async function embeddedReversals(db: Db, transfer: Transfer): Promise<Page<TransferReversal>> {
  if (transfer.amount_reversed === 0) return { data: [], has_more: false };
  return listReversals(db, transfer.merchant_id, transfer.id, { limit: EMBEDDED_REVERSALS });
}

export async function listReversals(db: Db, merchant_id: string, transfer_id: string, page: PageRequest): Promise<Page<TransferReversal>> {
  return listPage<TransferReversal>(db, { table: 'connect.transfer_reversals', column: 'state' }, merchant_id, [sql`transfer_id = ${transfer_id}`], page);
}

export interface TransferFilter {
  destination?: string | undefined;
  transfer_group?: string | undefined;
}

export async function listTransfers(db: Db, merchant_id: string, page: PageRequest, filter: TransferFilter): Promise<Page<Transfer>> {
  const filters = [
    ...(filter.destination !== undefined ? [sql`destination = ${filter.destination}`] : []),
    ...(filter.transfer_group !== undefined ? [sql`transfer_group = ${filter.transfer_group}`] : []),
  ];
  return listPage<Transfer>(db, { table: 'connect.transfers', column: 'state' }, merchant_id, filters, page);
}

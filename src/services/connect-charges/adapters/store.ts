import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { TransferRequest } from '../../ledger/index.js';
import { insertTransfer } from '../../connect/index.js';
import { asTransfer } from './transfer-render.js';
import type { ApplicationFee, DestinationTransfer } from '../domain/destination-charge.js';
import type { FeeRefund } from '../domain/fee-refund.js';

/** SQL for the connect_charges schema: each object whole in `state`, what lists filter on beside it. */

/** Inserts the capture's transfer unless it exists; answers whether this call inserted it. */
export async function insertTransferOnce(db: Db, transfer: DestinationTransfer): Promise<boolean> {
  const result = await run(
    db,
    sql`INSERT INTO connect_charges.destination_transfers (merchant_id, id, charge_id, destination, amount, amount_reversed, created, state)
      VALUES (${transfer.merchant_id}, ${transfer.id}, ${transfer.source_transaction}, ${transfer.destination}, ${transfer.amount}, ${transfer.amount_reversed},
        ${transfer.created}, ${JSON.stringify(transfer)}::json)
      ON CONFLICT (merchant_id, id) DO NOTHING`,
  );
  return result.rowCount === 1;
}

export async function insertFeeOnce(db: Db, fee: ApplicationFee): Promise<boolean> {
  const result = await run(
    db,
    sql`INSERT INTO connect_charges.application_fees (merchant_id, id, charge_id, account_id, amount, amount_refunded, created, version, state)
      VALUES (${fee.merchant_id}, ${fee.id}, ${fee.charge}, ${fee.account}, ${fee.amount}, ${fee.amount_refunded}, ${fee.created}, 1, ${JSON.stringify(fee)}::json)
      ON CONFLICT (merchant_id, id) DO NOTHING`,
  );
  return result.rowCount === 1;
}

export async function findFee(db: Db, merchant_id: string, id: string): Promise<{ fee: ApplicationFee; version: number } | undefined> {
  const result = await run<{ state: ApplicationFee; version: number }>(
    db,
    sql`SELECT state, version FROM connect_charges.application_fees WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  return row ? { fee: row.state, version: row.version } : undefined;
}

export async function getFee(db: Db, merchant_id: string, id: string, param = 'id'): Promise<{ fee: ApplicationFee; version: number }> {
  const found = await findFee(db, merchant_id, id);
  if (!found) throw new PayrailError('resource_missing', { param, message: `No such application fee: '${id.slice(0, 64)}'` });
  return found;
}

/** Affects no row unless the stored version is still `previous_version`: concurrent refunds cannot add up past the fee. */
export function updateFee(fee: ApplicationFee, previous_version: number): SqlFragment {
  return sql`UPDATE connect_charges.application_fees SET amount_refunded = ${fee.amount_refunded}, version = ${previous_version + 1}, state = ${JSON.stringify(fee)}::json
    WHERE merchant_id = ${fee.merchant_id} AND id = ${fee.id} AND version = ${previous_version}`;
}

export function listFees(db: Db, merchant_id: string, charge: string | undefined, page: PageRequest): Promise<Page<ApplicationFee>> {
  const filters = charge !== undefined ? [sql`charge_id = ${charge}`] : [];
  return listPage<ApplicationFee>(db, { table: 'connect_charges.application_fees', column: 'state' }, merchant_id, filters, page);
}

export async function findTransferOfCharge(db: Db, merchant_id: string, charge_id: string): Promise<DestinationTransfer | undefined> {
  const result = await run<{ state: DestinationTransfer }>(
    db,
    sql`SELECT state FROM connect_charges.destination_transfers WHERE merchant_id = ${merchant_id} AND charge_id = ${charge_id}`,
  );
  return result.rows[0]?.state;
}

/**
 * Puts a destination charge's legs held in `merchant_pending` on the ledger's release schedule (the
 * ledger schedules only captures itself): its release job moves each leg's net to available on its
 * own date, the platform's share out and the connected account's in.
 */
export async function scheduleLegReleases(db: Db, legs: readonly TransferRequest[]): Promise<void> {
  const held = legs.filter((leg) => leg.available_on !== null && leg.postings.some((p) => p.account === 'merchant_pending'));
  if (held.length === 0) return;
  await run(
    db,
    sql`INSERT INTO ledger.releases (merchant_id, transfer_id, available_on)
      SELECT * FROM unnest(${held.map((l) => l.merchant_id)}::text[], ${held.map((l) => l.id)}::text[], ${held.map((l) => l.available_on)}::bigint[])`,
  );
}

export function insertFeeRefund(refund: FeeRefund): SqlFragment {
  return sql`INSERT INTO connect_charges.fee_refunds (merchant_id, id, fee_id, created, state)
    VALUES (${refund.merchant_id}, ${refund.id}, ${refund.fee}, ${refund.created}, ${JSON.stringify(refund)}::json)`;
}

export function updateFeeRefundMetadata(refund: FeeRefund): SqlFragment {
  return sql`UPDATE connect_charges.fee_refunds SET state = ${JSON.stringify(refund)}::json WHERE merchant_id = ${refund.merchant_id} AND id = ${refund.id}`;
}

export async function findFeeRefund(db: Db, merchant_id: string, id: string): Promise<FeeRefund | undefined> {
  const result = await run<{ state: FeeRefund }>(db, sql`SELECT state FROM connect_charges.fee_refunds WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  return result.rows[0]?.state;
}

/** Inserts a refund's fee refund unless it exists; answers whether this call inserted it. */
export async function insertFeeRefundOnce(db: Db, refund: FeeRefund): Promise<boolean> {
  const result = await run(
    db,
    sql`INSERT INTO connect_charges.fee_refunds (merchant_id, id, fee_id, created, state)
      VALUES (${refund.merchant_id}, ${refund.id}, ${refund.fee}, ${refund.created}, ${JSON.stringify(refund)}::json)
      ON CONFLICT (merchant_id, id) DO NOTHING`,
  );
  return result.rowCount === 1;
}

/** Affects no row unless the amount reversed is still `previous_reversed`. */
export function updateTransferReversed(transfer: DestinationTransfer, previous_reversed: number): SqlFragment {
  return sql`UPDATE connect_charges.destination_transfers SET amount_reversed = ${transfer.amount_reversed}, state = ${JSON.stringify(transfer)}::json
    WHERE merchant_id = ${transfer.merchant_id} AND id = ${transfer.id} AND amount_reversed = ${previous_reversed}`;
}

/**
 * The capture's transfer as a /v1/transfers object in connect.transfers, so charge.transfer can be
 * followed (retrieve, list). Its id derives from the charge, so a repeated capture inserts nothing.
 */
export function publishTransferOnce(transfer: DestinationTransfer): SqlFragment {
  return joinSql([insertTransfer(asTransfer(transfer)), rawSql('ON CONFLICT (merchant_id, id) DO NOTHING')], ' ');
}

/** A refund's reverse_transfer, mirrored on the published transfer so GET /v1/transfers/:id agrees. */
export function publishTransferReversed(transfer: DestinationTransfer): SqlFragment {
  return sql`UPDATE connect.transfers SET amount_reversed = ${transfer.amount_reversed}, version = version + 1,
      state = jsonb_set(jsonb_set(state, '{amount_reversed}', to_jsonb(${transfer.amount_reversed}::bigint)), '{version}', to_jsonb(version + 1))
    WHERE merchant_id = ${transfer.merchant_id} AND id = ${transfer.id}`;
}

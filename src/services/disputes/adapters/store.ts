import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Dispute } from '../domain/dispute.js';
import { checkDispute, respondBy } from '../domain/dispute.js';

/** SQL for the disputes schema. Writes are fragments, committed by the write pipeline with their events. */

export function insertDispute(dispute: Dispute): SqlFragment {
  checkDispute(dispute);
  return sql`INSERT INTO disputes.disputes (merchant_id, id, charge_id, payment_intent_id, status, reason, amount, created, opened_by, respond_by, version, state)
    VALUES (${dispute.merchant_id}, ${dispute.id}, ${dispute.charge}, ${dispute.payment_intent}, ${dispute.status}, ${dispute.reason}, ${dispute.amount},
      ${dispute.created}, ${dispute.opened_by}, ${respondBy(dispute)}, ${dispute.version}, ${JSON.stringify(dispute)}::json)`;
}

/** Affects no row unless the stored version is still the one `dispute` was derived from. */
export function updateDispute(dispute: Dispute, previous_version: number, decide_after: number | null): SqlFragment {
  checkDispute(dispute);
  return sql`UPDATE disputes.disputes SET status = ${dispute.status}, pending_outcome = ${dispute.pending_outcome}, decide_after = ${decide_after},
    respond_by = ${respondBy(dispute)},
    version = ${dispute.version}, state = ${JSON.stringify(dispute)}::json
    WHERE merchant_id = ${dispute.merchant_id} AND id = ${dispute.id} AND version = ${previous_version}`;
}

export async function findDispute(db: Db, merchant_id: string, id: string): Promise<Dispute | undefined> {
  const result = await run<{ state: Dispute; version: number }>(
    db,
    sql`SELECT state, version FROM disputes.disputes WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`dispute ${id}: stored version ${row.version} and state disagree`);
  return checkDispute(row.state);
}

export async function getDispute(db: Db, merchant_id: string, id: string): Promise<Dispute> {
  const dispute = await findDispute(db, merchant_id, id);
  if (!dispute) throw new PayrailError('resource_missing', { param: 'dispute', message: `No such dispute: '${id.slice(0, 64)}'` });
  return dispute;
}

export async function disputeOpenedBy(db: Db, merchant_id: string, opened_by: string): Promise<Dispute | undefined> {
  const result = await run<{ id: string }>(db, sql`SELECT id FROM disputes.disputes WHERE merchant_id = ${merchant_id} AND opened_by = ${opened_by}`);
  const id = result.rows[0]?.id;
  return id === undefined ? undefined : findDispute(db, merchant_id, id);
}

export interface DisputeFilters {
  charge?: string | undefined;
  payment_intent?: string | undefined;
}

export async function listDisputes(db: Db, merchant_id: string, filters: DisputeFilters, page: PageRequest): Promise<Page<Dispute>> {
  const conditions: SqlFragment[] = [];
  if (filters.charge !== undefined) conditions.push(sql`charge_id = ${filters.charge}`);
  if (filters.payment_intent !== undefined) conditions.push(sql`payment_intent_id = ${filters.payment_intent}`);
  const result = await listPage<Dispute>(db, { table: 'disputes.disputes', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkDispute), has_more: result.has_more };
}

/** Disputes whose test-mode outcome is due, across merchants (the decision job), oldest first. */
export async function dueForDecision(db: Db, now_s: number, limit: number): Promise<{ merchant_id: string; id: string }[]> {
  const result = await run<{ merchant_id: string; id: string }>(
    db,
    sql`SELECT merchant_id, id FROM disputes.disputes WHERE pending_outcome IS NOT NULL AND decide_after <= ${now_s} ORDER BY decide_after LIMIT ${limit}`,
  );
  return result.rows;
}

/** Chargebacks nobody answered by their due date, across merchants (the decision job), oldest first. */
export async function unansweredPastDue(db: Db, now_s: number, limit: number): Promise<{ merchant_id: string; id: string }[]> {
  const result = await run<{ merchant_id: string; id: string }>(
    db,
    sql`SELECT merchant_id, id FROM disputes.disputes WHERE respond_by < ${now_s} ORDER BY respond_by LIMIT ${limit}`,
  );
  return result.rows;
}

/** Fraud disputes opened at or after `since_s`, in (created, id) order after `after`, across merchants. */
export async function fraudDisputes(
  db: Db,
  since_s: number,
  after: readonly [number, string],
  limit: number,
): Promise<{ charge_id: string; merchant_id: string; created: number; id: string }[]> {
  const result = await run<{ charge_id: string; merchant_id: string; created: string; id: string }>(
    db,
    sql`SELECT charge_id, merchant_id, created, id FROM disputes.disputes
    WHERE reason = 'fraudulent' AND created >= ${since_s} AND status NOT IN ('won', 'warning_closed') AND (created, id) > (${after[0]}, ${after[1]})
    ORDER BY created, id LIMIT ${limit}`,
  );
  return result.rows.map((row) => ({ ...row, created: Number(row.created) }));
}

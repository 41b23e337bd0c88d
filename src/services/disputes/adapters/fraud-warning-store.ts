import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { EarlyFraudWarning } from '../domain/early-fraud-warning.js';

/** SQL for early fraud warnings; the write is a fragment the pipeline commits with its event. */

export function insertFraudWarning(warning: EarlyFraudWarning): SqlFragment {
  return sql`INSERT INTO disputes.early_fraud_warnings (merchant_id, id, charge_id, payment_intent_id, created, opened_by, state)
    VALUES (${warning.merchant_id}, ${warning.id}, ${warning.charge}, ${warning.payment_intent}, ${warning.created}, ${warning.opened_by},
      ${JSON.stringify(warning)}::json)`;
}

export async function findFraudWarning(db: Db, merchant_id: string, where: { id: string } | { opened_by: string }): Promise<EarlyFraudWarning | undefined> {
  const condition = 'id' in where ? sql`id = ${where.id}` : sql`opened_by = ${where.opened_by}`;
  const result = await run<{ state: EarlyFraudWarning }>(
    db,
    joinSql([sql`SELECT state FROM disputes.early_fraud_warnings WHERE merchant_id = ${merchant_id} AND `, condition], ''),
  );
  return result.rows[0]?.state;
}

export async function getFraudWarning(db: Db, merchant_id: string, id: string): Promise<EarlyFraudWarning> {
  const warning = await findFraudWarning(db, merchant_id, { id });
  if (!warning) throw new PayrailError('resource_missing', { param: 'early_fraud_warning', message: `No such early fraud warning: '${id.slice(0, 64)}'` });
  return warning;
}

export async function listFraudWarnings(
  db: Db,
  merchant_id: string,
  filters: { charge?: string | undefined; payment_intent?: string | undefined },
  page: PageRequest,
): Promise<Page<EarlyFraudWarning>> {
  const conditions: SqlFragment[] = [];
  if (filters.charge !== undefined) conditions.push(sql`charge_id = ${filters.charge}`);
  if (filters.payment_intent !== undefined) conditions.push(sql`payment_intent_id = ${filters.payment_intent}`);
  return listPage<EarlyFraudWarning>(db, { table: 'disputes.early_fraud_warnings', column: 'state' }, merchant_id, conditions, page);
}

/** A charge's warnings that are still actionable (a charge has at most a few). */
export async function actionableWarningsOf(db: Db, merchant_id: string, charge_id: string): Promise<EarlyFraudWarning[]> {
  const result = await run<{ state: EarlyFraudWarning }>(
    db,
    sql`SELECT state FROM disputes.early_fraud_warnings
    WHERE merchant_id = ${merchant_id} AND charge_id = ${charge_id} AND (state->>'actionable')::boolean ORDER BY id LIMIT 10`,
  );
  return result.rows.map((row) => row.state);
}

/** Affects no row unless the warning is still actionable: of two racing changes one applies. */
export function settleFraudWarning(warning: EarlyFraudWarning): SqlFragment {
  return sql`UPDATE disputes.early_fraud_warnings SET state = ${JSON.stringify({ ...warning, actionable: false })}::json
    WHERE merchant_id = ${warning.merchant_id} AND id = ${warning.id} AND (state->>'actionable')::boolean`;
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { DEFAULT_PAGE_LIMIT } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { AccountRow } from '../domain/account.js';

/**
 * Accounts are rows of merchants.merchants (the merchants service's table, whose migration
 * merchants/004 added Connect's columns). Through the request role a transaction scoped to a merchant
 * sees its own row and, by the platform_scope policy, its connected accounts' rows: nothing else.
 */

const COLUMNS = `id, platform_id, created, type, country, default_currency, email, business_type, metadata, capabilities,
  charges_enabled, payouts_enabled, version`;

/** A live (not deleted) account visible to the reader's scope. */
export async function loadAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  const result = await run<AccountRow>(db, joinSql([rawSql(`SELECT ${COLUMNS} FROM merchants.merchants WHERE `), sql`id = ${id} AND deleted_at IS NULL`], ''));
  return result.rows[0];
}

export function insertAccount(row: AccountRow, now_s: number): SqlFragment {
  return sql`INSERT INTO merchants.merchants (id, name, created, platform_id, type, country, default_currency, email, business_type, metadata,
      capabilities, charges_enabled, payouts_enabled, version)
    VALUES (${row.id}, ${row.email ?? 'Connected account'}, ${now_s}, ${row.platform_id}, ${row.type}, ${row.country}, ${row.default_currency},
      ${row.email}, ${row.business_type}, ${JSON.stringify(row.metadata)}::jsonb, ${JSON.stringify(row.capabilities)}::jsonb,
      ${row.charges_enabled}, ${row.payouts_enabled}, 1)`;
}

/** Stores `next` over the account if it is still at `next.version` (the write pipeline's guard fails otherwise). */
export function updateAccount(next: AccountRow): SqlFragment {
  return sql`UPDATE merchants.merchants SET default_currency = ${next.default_currency}, email = ${next.email}, business_type = ${next.business_type},
      metadata = ${JSON.stringify(next.metadata)}::jsonb, capabilities = ${JSON.stringify(next.capabilities)}::jsonb,
      charges_enabled = ${next.charges_enabled}, payouts_enabled = ${next.payouts_enabled}, version = ${next.version + 1}
    WHERE id = ${next.id} AND version = ${next.version} AND deleted_at IS NULL`;
}

export function markDeleted(row: AccountRow, now_s: number): SqlFragment {
  return sql`UPDATE merchants.merchants SET deleted_at = ${now_s}, version = ${row.version + 1}
    WHERE id = ${row.id} AND version = ${row.version} AND deleted_at IS NULL`;
}

/**
 * The platform's live connected accounts, newest first, with Stripe's cursors (ids are time-ordered).
 * One range scan of merchants_by_platform (platform_id, id).
 */
export async function listConnected(db: Db, platform_id: string, page: PageRequest): Promise<Page<AccountRow>> {
  const limit = page.limit ?? DEFAULT_PAGE_LIMIT;
  if (page.starting_after !== undefined && page.ending_before !== undefined)
    throw new PayrailError('parameters_exclusive', {
      param: 'ending_before',
      message: 'Received both starting_after and ending_before parameters. Please pass in only one.',
    });
  const cursor = page.starting_after ?? page.ending_before;
  if (cursor !== undefined && (await loadAccount(db, cursor))?.platform_id !== platform_id) {
    const param = page.starting_after !== undefined ? 'starting_after' : 'ending_before';
    throw new PayrailError('resource_missing', { param, message: `No such object for ${param}: '${cursor}'` });
  }
  const backwards = page.ending_before !== undefined;
  const conditions = [sql`platform_id = ${platform_id} AND deleted_at IS NULL`, ...createdConditions(page.created)];
  if (page.starting_after !== undefined) conditions.push(sql`id < ${page.starting_after}`);
  if (page.ending_before !== undefined) conditions.push(sql`id > ${page.ending_before}`);
  const query = joinSql(
    [
      rawSql(`SELECT ${COLUMNS} FROM merchants.merchants WHERE `),
      joinSql(conditions, ' AND '),
      rawSql(` ORDER BY platform_id, id ${backwards ? 'ASC' : 'DESC'} LIMIT `),
      sql`${limit + 1}`,
    ],
    '',
  );
  const rows = (await run<AccountRow>(db, query)).rows;
  const data = rows.slice(0, limit);
  return { data: backwards ? data.reverse() : data, has_more: rows.length > limit };
}

function createdConditions(created: PageRequest['created']): SqlFragment[] {
  const conditions: SqlFragment[] = [];
  if (created?.gt !== undefined) conditions.push(sql`created > ${created.gt}`);
  if (created?.gte !== undefined) conditions.push(sql`created >= ${created.gte}`);
  if (created?.lt !== undefined) conditions.push(sql`created < ${created.lt}`);
  if (created?.lte !== undefined) conditions.push(sql`created <= ${created.lte}`);
  return conditions;
}

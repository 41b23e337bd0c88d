import { PayrailError } from '../kernel/errors.js';
import type { Db, SqlFragment } from './db.js';
import { joinSql, rawSql, run, sql } from './db.js';

export const DEFAULT_PAGE_LIMIT = 10;

export interface PageRequest {
  limit?: number | undefined;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
  created?: { gt?: number; gte?: number; lt?: number; lte?: number } | undefined;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
}

/**
 * Stripe's cursor pagination, newest first, on tables keyed by (merchant_id, id) with time-ordered
 * ids: `starting_after` walks older, `ending_before` walks newer. Each page is one index range scan.
 * `table` and `column` come from code, never from input.
 */
export async function listPage<T>(
  db: Db,
  source: { table: string; column: string },
  merchant_id: string,
  filters: SqlFragment[],
  page: PageRequest,
): Promise<Page<T>> {
  const limit = page.limit ?? DEFAULT_PAGE_LIMIT;
  await checkCursor(db, source.table, merchant_id, page);
  const conditions: SqlFragment[] = [sql`merchant_id = ${merchant_id}`, ...filters];
  const backwards = page.ending_before !== undefined && page.starting_after === undefined;
  if (page.starting_after !== undefined) conditions.push(sql`id < ${page.starting_after}`);
  if (backwards) conditions.push(sql`id > ${page.ending_before}`);
  const created = page.created ?? {};
  if (created.gt !== undefined) conditions.push(sql`created > ${created.gt}`);
  if (created.gte !== undefined) conditions.push(sql`created >= ${created.gte}`);
  if (created.lt !== undefined) conditions.push(sql`created < ${created.lt}`);
  if (created.lte !== undefined) conditions.push(sql`created <= ${created.lte}`);
  const query = joinSql(
    [
      rawSql(`SELECT ${source.column} AS item FROM ${source.table} WHERE `),
      joinSql(conditions, ' AND '),
      rawSql(` ORDER BY id ${backwards ? 'ASC' : 'DESC'} LIMIT `),
      sql`${limit + 1}`,
    ],
    '',
  );
  const result = await run<{ item: T }>(db, query);
  const rows = result.rows.map((row) => row.item);
  const has_more = rows.length > limit;
  const data = rows.slice(0, limit);
  return { data: backwards ? data.reverse() : data, has_more };
}

/**
 * As on Stripe: one cursor at a time, and it names an object of the list's kind the merchant has.
 * An unknown id would otherwise page from wherever it sorts, answering objects the caller never saw.
 */
async function checkCursor(db: Db, table: string, merchant_id: string, page: PageRequest): Promise<void> {
  if (page.starting_after !== undefined && page.ending_before !== undefined) {
    throw new PayrailError('parameters_exclusive', {
      param: 'ending_before',
      message: 'Received both starting_after and ending_before parameters. Please pass in only one.',
    });
  }
  const param = page.starting_after !== undefined ? 'starting_after' : 'ending_before';
  const cursor = page.starting_after ?? page.ending_before;
  if (cursor === undefined) return;
  const found = await run(db, joinSql([rawSql(`SELECT 1 FROM ${table} WHERE `), sql`merchant_id = ${merchant_id} AND id = ${cursor}`], ''));
  if (found.rows.length === 0) throw new PayrailError('resource_missing', { param, message: `No such object for ${param}: '${cursor}'` });
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { ItemType } from '../domain/value-list-items.js';
import { ITEM_TYPES, normalizedValue } from '../domain/value-list-items.js';

/** SQL for risk.value_lists and risk.value_list_items. Writes are fragments the write pipeline commits. */

export interface ValueList {
  merchant_id: string;
  id: string;
  alias: string;
  name: string;
  item_type: ItemType;
  metadata: Record<string, string>;
  created_by: string;
  livemode: boolean;
  created: number;
  version: number;
}

export interface ValueListItem {
  merchant_id: string;
  id: string;
  value_list_id: string;
  value: string;
  normalized: string;
  created_by: string;
  livemode: boolean;
  created: number;
}

const LIST_JSON = `json_build_object('merchant_id', merchant_id, 'id', id, 'alias', alias, 'name', name, 'item_type', item_type, 'metadata', metadata,
  'created_by', created_by, 'livemode', livemode, 'created', created, 'version', version)`;
const ITEM_JSON = `json_build_object('merchant_id', merchant_id, 'id', id, 'value_list_id', value_list_id, 'value', value, 'normalized', normalized,
  'created_by', created_by, 'livemode', livemode, 'created', created)`;

/** Affects no row when the alias is taken or the merchant has `max_lists`: the write pipeline's guard then refuses the whole commit. */
export function insertList(list: ValueList, max_lists: number): SqlFragment {
  return sql`INSERT INTO risk.value_lists (merchant_id, id, alias, name, item_type, metadata, created_by, livemode, created, version)
    SELECT ${list.merchant_id}, ${list.id}, ${list.alias}, ${list.name}, ${list.item_type}, ${JSON.stringify(list.metadata)}::jsonb, ${list.created_by},
      ${list.livemode}, ${list.created}, ${list.version}
    WHERE (SELECT count(*) FROM risk.value_lists WHERE merchant_id = ${list.merchant_id}) < ${max_lists}
    ON CONFLICT (merchant_id, alias) DO NOTHING`;
}

export async function listCount(db: Db, merchant_id: string): Promise<number> {
  const result = await run<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM risk.value_lists WHERE merchant_id = ${merchant_id}`);
  return result.rows[0]?.n ?? 0;
}

export function updateList(list: ValueList, previous_version: number): SqlFragment {
  return sql`UPDATE risk.value_lists SET alias = ${list.alias}, name = ${list.name}, metadata = ${JSON.stringify(list.metadata)}::jsonb, version = ${list.version}
    WHERE merchant_id = ${list.merchant_id} AND id = ${list.id} AND version = ${previous_version}
      AND NOT EXISTS (SELECT 1 FROM risk.value_lists o WHERE o.merchant_id = ${list.merchant_id} AND o.alias = ${list.alias} AND o.id <> ${list.id})`;
}

/** Its items go with it (ON DELETE CASCADE). */
export function deleteList(list: ValueList): SqlFragment {
  return sql`DELETE FROM risk.value_lists WHERE merchant_id = ${list.merchant_id} AND id = ${list.id} AND version = ${list.version}`;
}

/** Affects no row when the list already holds the value, or is full. */
export function insertItem(item: ValueListItem, max_items: number): SqlFragment {
  return sql`INSERT INTO risk.value_list_items (merchant_id, id, value_list_id, value, normalized, created_by, livemode, created)
    SELECT ${item.merchant_id}, ${item.id}, ${item.value_list_id}, ${item.value}, ${item.normalized}, ${item.created_by}, ${item.livemode}, ${item.created}
    WHERE (SELECT count(*) FROM risk.value_list_items WHERE merchant_id = ${item.merchant_id} AND value_list_id = ${item.value_list_id}) < ${max_items}
    ON CONFLICT (merchant_id, value_list_id, normalized) DO NOTHING`;
}

export function deleteItem(item: ValueListItem): SqlFragment {
  return sql`DELETE FROM risk.value_list_items WHERE merchant_id = ${item.merchant_id} AND id = ${item.id}`;
}

export async function findList(db: Db, merchant_id: string, id: string): Promise<ValueList | undefined> {
  const result = await run<ValueList>(
    db,
    sql`SELECT merchant_id, id, alias, name, item_type, metadata, created_by, livemode, created, version FROM risk.value_lists
      WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  return result.rows[0];
}

export async function getList(db: Db, merchant_id: string, id: string, param = 'value_list'): Promise<ValueList> {
  const list = await findList(db, merchant_id, id);
  if (!list) throw new PayrailError('resource_missing', { param, message: `No such value list: '${id.slice(0, 64)}'` });
  return list;
}

export async function aliasTaken(db: Db, merchant_id: string, alias: string, except_id: string | null): Promise<boolean> {
  const result = await run(
    db,
    sql`SELECT 1 FROM risk.value_lists WHERE merchant_id = ${merchant_id} AND alias = ${alias} AND id IS DISTINCT FROM ${except_id}`,
  );
  return result.rows.length > 0;
}

export async function getItem(db: Db, merchant_id: string, id: string): Promise<ValueListItem> {
  const result = await run<ValueListItem>(
    db,
    sql`SELECT merchant_id, id, value_list_id, value, normalized, created_by, livemode, created FROM risk.value_list_items
      WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const item = result.rows[0];
  if (!item) throw new PayrailError('resource_missing', { param: 'item', message: `No such value list item: '${id.slice(0, 64)}'` });
  return item;
}

export async function itemStats(db: Db, merchant_id: string, list_id: string, normalized: string): Promise<{ count: number; holds: boolean }> {
  const result = await run<{ count: number; holds: boolean }>(
    db,
    sql`SELECT count(*)::int AS count, coalesce(bool_or(normalized = ${normalized}), false) AS holds
      FROM risk.value_list_items WHERE merchant_id = ${merchant_id} AND value_list_id = ${list_id}`,
  );
  return result.rows[0] ?? { count: 0, holds: false };
}

export async function listLists(
  db: Db,
  merchant_id: string,
  filters: { alias?: string | undefined; contains?: string | undefined },
  page: PageRequest,
): Promise<Page<ValueList>> {
  const conditions: SqlFragment[] = [];
  if (filters.alias !== undefined) conditions.push(sql`alias = ${filters.alias}`);
  if (filters.contains !== undefined) {
    // Items are stored normalized, each list by its own type: the value is compared in each type's form.
    const contains = filters.contains;
    const forms = joinSql(
      ITEM_TYPES.map((type) => sql`WHEN ${type} THEN ${normalizedValue(type, contains)}`),
      ' ',
    );
    conditions.push(
      joinSql(
        [
          sql`EXISTS (SELECT 1 FROM risk.value_list_items i WHERE i.merchant_id = value_lists.merchant_id AND i.value_list_id = value_lists.id
          AND i.normalized = CASE value_lists.item_type `,
          forms,
          sql` END)`,
        ],
        '',
      ),
    );
  }
  return listPage<ValueList>(db, { table: 'risk.value_lists', column: LIST_JSON }, merchant_id, conditions, page);
}

export async function listItems(
  db: Db,
  merchant_id: string,
  filters: { value_list: string; normalized_value?: string | undefined },
  page: PageRequest,
): Promise<Page<ValueListItem>> {
  const conditions: SqlFragment[] = [sql`value_list_id = ${filters.value_list}`];
  if (filters.normalized_value !== undefined) conditions.push(sql`normalized = ${filters.normalized_value}`);
  return listPage<ValueListItem>(db, { table: 'risk.value_list_items', column: ITEM_JSON }, merchant_id, conditions, page);
}

import { PayrailError } from '../../../kernel/errors.js';
import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import type { Subscription, SubscriptionItem, SubscriptionStatus } from '../domain/subscription.js';
import { checkSubscription } from '../domain/subscription.js';

/** SQL for subscriptions and their items. Writes are fragments the write pipeline commits with their events. */

/** A new subscription and its items. */
export function insertSubscription(subscription: Subscription): SqlFragment[] {
  checkSubscription(subscription);
  const s = subscription;
  return [
    sql`INSERT INTO billing.subscriptions (merchant_id, id, customer_id, status, collection_method, current_period_start, current_period_end,
        test_clock, created, version, state)
      VALUES (${s.merchant_id}, ${s.id}, ${s.customer}, ${s.status}, ${s.collection_method}, ${s.current_period_start}, ${s.current_period_end},
        ${s.test_clock}, ${s.created}, ${s.version}, ${JSON.stringify(s)}::json)`,
    upsertItems(s),
  ];
}

/**
 * The subscription's new version and its items: affects no row unless the stored version is still
 * `previous_version`. Items no longer on it are deleted; the rest are written as they are now.
 */
export function updateSubscription(subscription: Subscription, previous_version: number, removed: readonly SubscriptionItem[] = []): SqlFragment[] {
  checkSubscription(subscription);
  const s = subscription;
  const writes = [
    sql`UPDATE billing.subscriptions SET status = ${s.status}, collection_method = ${s.collection_method},
        current_period_start = ${s.current_period_start}, current_period_end = ${s.current_period_end}, version = ${s.version},
        state = ${JSON.stringify(s)}::json
      WHERE merchant_id = ${s.merchant_id} AND id = ${s.id} AND version = ${previous_version}`,
    upsertItems(s),
  ];
  if (removed.length > 0) {
    writes.push(
      sql`DELETE FROM billing.subscription_items WHERE merchant_id = ${s.merchant_id} AND subscription_id = ${s.id}
        AND id = ANY(${removed.map((item) => item.id)}::text[])`,
    );
  }
  return writes;
}

function upsertItems(s: Subscription): SqlFragment {
  const column = <K extends keyof SubscriptionItem>(key: K) => s.items.map((item) => item[key]);
  return sql`INSERT INTO billing.subscription_items (merchant_id, id, subscription_id, price_id, quantity, created, state)
    SELECT ${s.merchant_id}, i.id, ${s.id}, i.price_id, i.quantity, i.created, i.state::json
    FROM unnest(${column('id')}::text[], ${column('price')}::text[], ${column('quantity')}::bigint[], ${column('created')}::bigint[],
      ${s.items.map((item) => JSON.stringify(item))}::text[]) AS i(id, price_id, quantity, created, state)
    ON CONFLICT (merchant_id, id) DO UPDATE SET price_id = EXCLUDED.price_id, quantity = EXCLUDED.quantity, state = EXCLUDED.state`;
}

export async function findSubscription(db: Db, merchant_id: string, id: string): Promise<Subscription | undefined> {
  const result = await run<{ state: Subscription; version: number }>(
    db,
    sql`SELECT state, version FROM billing.subscriptions WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`subscription ${id}: stored version ${row.version} and state disagree`);
  return checkSubscription(row.state);
}

export async function getSubscription(db: Db, merchant_id: string, id: string, param = 'id'): Promise<Subscription> {
  const subscription = await findSubscription(db, merchant_id, id);
  if (!subscription) throw new PayrailError('resource_missing', { param, message: `No such subscription: '${id.slice(0, 64)}'` });
  return subscription;
}

/** The subscription an item belongs to, by the item's id. */
export async function findSubscriptionOfItem(db: Db, merchant_id: string, item_id: string): Promise<Subscription | undefined> {
  const result = await run<{ subscription_id: string }>(
    db,
    sql`SELECT subscription_id FROM billing.subscription_items WHERE merchant_id = ${merchant_id} AND id = ${item_id}`,
  );
  const id = result.rows[0]?.subscription_id;
  return id === undefined ? undefined : findSubscription(db, merchant_id, id);
}

export interface SubscriptionFilters {
  customer?: string | undefined;
  price?: string | undefined;
  /** One status, or every status; by default every status but canceled (and incomplete_expired), as Stripe lists them. */
  status?: SubscriptionStatus | 'all' | 'ended' | undefined;
  test_clock?: string | undefined;
  collection_method?: string | undefined;
  current_period_start?: { gt?: number; gte?: number; lt?: number; lte?: number } | undefined;
  current_period_end?: { gt?: number; gte?: number; lt?: number; lte?: number } | undefined;
}

export async function listSubscriptions(db: Db, merchant_id: string, filters: SubscriptionFilters, page: PageRequest): Promise<Page<Subscription>> {
  const conditions: SqlFragment[] = [];
  if (filters.customer !== undefined) conditions.push(sql`customer_id = ${filters.customer}`);
  if (filters.price !== undefined) {
    conditions.push(sql`id IN (SELECT subscription_id FROM billing.subscription_items WHERE merchant_id = ${merchant_id} AND price_id = ${filters.price})`);
  }
  if (filters.status === undefined) conditions.push(sql`status NOT IN ('canceled', 'incomplete_expired')`);
  else if (filters.status === 'ended') conditions.push(sql`status IN ('canceled', 'incomplete_expired')`);
  else if (filters.status !== 'all') conditions.push(sql`status = ${filters.status}`);
  if (filters.test_clock !== undefined) conditions.push(sql`test_clock = ${filters.test_clock}`);
  if (filters.collection_method !== undefined) conditions.push(sql`collection_method = ${filters.collection_method}`);
  conditions.push(...rangeConditions('current_period_start', filters.current_period_start));
  conditions.push(...rangeConditions('current_period_end', filters.current_period_end));
  const result = await listPage<Subscription>(db, { table: 'billing.subscriptions', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkSubscription), has_more: result.has_more };
}

function rangeConditions(
  column: 'current_period_start' | 'current_period_end',
  range: { gt?: number; gte?: number; lt?: number; lte?: number } | undefined,
): SqlFragment[] {
  if (range === undefined) return [];
  // `column` comes from code, never from input.
  const bound = (op: string, value: number | undefined) => (value === undefined ? [] : [joinSql([rawSql(`${column} ${op} `), sql`${value}`], '')]);
  return [...bound('>', range.gt), ...bound('>=', range.gte), ...bound('<', range.lt), ...bound('<=', range.lte)];
}

/** Stripe allows 3 customers per test clock; this bounds what one clock's delete touches all the same. */
export const CLOCK_SUBSCRIPTIONS_LIMIT = 1_000;

/** The subscriptions of a test clock that have not ended (the clock's delete cancels them). */
export async function liveClockSubscriptions(db: Db, merchant_id: string, clock_id: string): Promise<Subscription[]> {
  const result = await run<{ state: Subscription }>(
    db,
    sql`SELECT state FROM billing.subscriptions WHERE merchant_id = ${merchant_id} AND test_clock = ${clock_id}
      AND status NOT IN ('canceled', 'incomplete_expired') ORDER BY id LIMIT ${CLOCK_SUBSCRIPTIONS_LIMIT + 1}`,
  );
  if (result.rows.length > CLOCK_SUBSCRIPTIONS_LIMIT) throw new Error(`test clock ${clock_id} has more than ${CLOCK_SUBSCRIPTIONS_LIMIT} live subscriptions`);
  return result.rows.map((row) => checkSubscription(row.state));
}

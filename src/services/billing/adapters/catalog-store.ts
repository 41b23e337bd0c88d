import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Price } from '../domain/price.js';
import { checkPrice } from '../domain/price.js';
import type { Product } from '../domain/product.js';

/** SQL for products and prices. Writes are fragments, committed by the write pipeline with their events. */

export function insertProduct(product: Product, price_count = 0): SqlFragment {
  return sql`INSERT INTO billing.products (merchant_id, id, active, shippable, url, price_count, created, version, state)
    VALUES (${product.merchant_id}, ${product.id}, ${product.active}, ${product.shippable}, ${product.url}, ${price_count},
      ${product.created}, ${product.version}, ${JSON.stringify(product)}::json)`;
}

/** Affects no row unless the stored version is still the one `product` was derived from. */
export function updateProduct(product: Product, previous_version: number): SqlFragment {
  return sql`UPDATE billing.products SET active = ${product.active}, shippable = ${product.shippable}, url = ${product.url},
    version = ${product.version}, state = ${JSON.stringify(product)}::json
    WHERE merchant_id = ${product.merchant_id} AND id = ${product.id} AND version = ${previous_version}`;
}

/** Affects no row once the product has a price, even one created by a request racing this one. */
export function deleteProductRow(product: Product): SqlFragment {
  return sql`DELETE FROM billing.products
    WHERE merchant_id = ${product.merchant_id} AND id = ${product.id} AND version = ${product.version} AND price_count = 0`;
}

/** Counts a new price on its (existing) product; affects no row if the product is gone. */
export function countPriceOn(merchant_id: string, product_id: string): SqlFragment {
  return sql`UPDATE billing.products SET price_count = price_count + 1 WHERE merchant_id = ${merchant_id} AND id = ${product_id}`;
}

export async function findProduct(db: Db, merchant_id: string, id: string): Promise<(Product & { price_count: number }) | undefined> {
  const result = await run<{ state: Product; version: number; price_count: number }>(
    db,
    sql`SELECT state, version, price_count FROM billing.products WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`product ${id}: stored version ${row.version} and state disagree`);
  return { ...row.state, price_count: row.price_count };
}

export async function getProduct(db: Db, merchant_id: string, id: string, param?: string): Promise<Product & { price_count: number }> {
  const product = await findProduct(db, merchant_id, id);
  if (!product) throw new PayrailError('resource_missing', { param, message: `No such product: '${id.slice(0, 64)}'` });
  return product;
}

export interface ProductFilters {
  active?: boolean | undefined;
  ids?: string[] | undefined;
  shippable?: boolean | undefined;
  url?: string | undefined;
}

export async function listProducts(db: Db, merchant_id: string, filters: ProductFilters, page: PageRequest): Promise<Page<Product>> {
  const conditions: SqlFragment[] = [];
  if (filters.active !== undefined) conditions.push(sql`active = ${filters.active}`);
  if (filters.ids !== undefined) conditions.push(sql`id = ANY(${filters.ids}::text[])`);
  if (filters.shippable !== undefined) conditions.push(sql`shippable = ${filters.shippable}`);
  if (filters.url !== undefined) conditions.push(sql`url = ${filters.url}`);
  return listPage<Product>(db, { table: 'billing.products', column: 'state' }, merchant_id, conditions, page);
}

export function insertPrice(price: Price): SqlFragment {
  checkPrice(price);
  return sql`INSERT INTO billing.prices (merchant_id, id, product_id, active, currency, type, recurring_interval, recurring_usage_type, lookup_key,
      created, version, state)
    VALUES (${price.merchant_id}, ${price.id}, ${price.product}, ${price.active}, ${price.currency}, ${price.type}, ${price.recurring?.interval ?? null},
      ${price.recurring?.usage_type ?? null}, ${price.lookup_key}, ${price.created}, ${price.version}, ${JSON.stringify(price)}::json)`;
}

/** Affects no row unless the stored version is still the one `price` was derived from. */
export function updatePrice(price: Price, previous_version: number): SqlFragment {
  checkPrice(price);
  return sql`UPDATE billing.prices SET active = ${price.active}, lookup_key = ${price.lookup_key}, version = ${price.version},
    state = ${JSON.stringify(price)}::json
    WHERE merchant_id = ${price.merchant_id} AND id = ${price.id} AND version = ${previous_version}`;
}

export async function findPrice(db: Db, merchant_id: string, id: string): Promise<Price | undefined> {
  const result = await run<{ state: Price; version: number }>(
    db,
    sql`SELECT state, version FROM billing.prices WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`price ${id}: stored version ${row.version} and state disagree`);
  return checkPrice(row.state);
}

/** The catalog's read for the rest of billing: a price of the merchant, or Stripe's `resource_missing` naming `param`. */
export async function getPrice(db: Db, merchant_id: string, id: string, param = 'price'): Promise<Price> {
  const price = await findPrice(db, merchant_id, id);
  if (!price) throw new PayrailError('resource_missing', { param, message: `No such price: '${id.slice(0, 64)}'` });
  return price;
}

export async function findPriceByLookupKey(db: Db, merchant_id: string, lookup_key: string): Promise<Price | undefined> {
  const result = await run<{ id: string }>(db, sql`SELECT id FROM billing.prices WHERE merchant_id = ${merchant_id} AND lookup_key = ${lookup_key}`);
  const id = result.rows[0]?.id;
  return id === undefined ? undefined : findPrice(db, merchant_id, id);
}

export interface PriceFilters {
  active?: boolean | undefined;
  currency?: string | undefined;
  product?: string | undefined;
  type?: 'one_time' | 'recurring' | undefined;
  lookup_keys?: string[] | undefined;
  recurring?: { interval?: string | undefined; usage_type?: string | undefined } | undefined;
}

export async function listPrices(db: Db, merchant_id: string, filters: PriceFilters, page: PageRequest): Promise<Page<Price>> {
  const conditions: SqlFragment[] = [];
  if (filters.active !== undefined) conditions.push(sql`active = ${filters.active}`);
  if (filters.currency !== undefined) conditions.push(sql`currency = ${filters.currency}`);
  if (filters.product !== undefined) conditions.push(sql`product_id = ${filters.product}`);
  if (filters.type !== undefined) conditions.push(sql`type = ${filters.type}`);
  if (filters.lookup_keys !== undefined) conditions.push(sql`lookup_key = ANY(${filters.lookup_keys}::text[])`);
  // Stripe: a `recurring` filter lists recurring prices only, of the interval and usage type asked.
  if (filters.recurring !== undefined) conditions.push(sql`type = 'recurring'`);
  if (filters.recurring?.interval !== undefined) conditions.push(sql`recurring_interval = ${filters.recurring.interval}`);
  if (filters.recurring?.usage_type !== undefined) conditions.push(sql`recurring_usage_type = ${filters.recurring.usage_type}`);
  const result = await listPage<Price>(db, { table: 'billing.prices', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkPrice), has_more: result.has_more };
}

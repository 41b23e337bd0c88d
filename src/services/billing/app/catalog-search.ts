import type { PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import type { SearchResource } from '../../../platform/search/compile.js';
import { compileSearch } from '../../../platform/search/compile.js';
import { invalidQuery, parseSearchQuery } from '../../../platform/search/query.js';
import type { Price } from '../domain/price.js';
import { checkPrice } from '../domain/price.js';
import type { Product } from '../domain/product.js';
import { renderPrice, renderProduct } from '../adapters/catalog-render.js';
import type { BillingDeps } from './deps.js';

/** Search with Stripe's query language over products and prices: the query fields Stripe documents for each. */

const METADATA = `(state -> 'metadata')`;

export const PRODUCT_SEARCH: SearchResource = {
  name: 'products',
  metadata_sql: METADATA,
  fields: {
    active: { sql: 'active', kind: 'boolean' },
    created: { sql: 'created', kind: 'number' },
    description: { sql: `state ->> 'description'`, kind: 'string' },
    name: { sql: `state ->> 'name'`, kind: 'string' },
    shippable: { sql: 'shippable', kind: 'boolean' },
    url: { sql: 'url', kind: 'string' },
  },
};

export const PRICE_SEARCH: SearchResource = {
  name: 'prices',
  metadata_sql: METADATA,
  fields: {
    active: { sql: 'active', kind: 'boolean' },
    created: { sql: 'created', kind: 'number' },
    currency: { sql: 'currency', kind: 'string' },
    lookup_key: { sql: 'lookup_key', kind: 'string' },
    product: { sql: 'product_id', kind: 'string' },
    type: { sql: 'type', kind: 'string' },
  },
};

export interface SearchParams {
  query: string;
  limit?: number | undefined;
  page?: string | undefined;
}

export interface SearchResult {
  object: 'search_result';
  url: string;
  data: Record<string, unknown>[];
  has_more: boolean;
  next_page: string | null;
}

export async function searchProducts(deps: BillingDeps, merchant_id: string, params: SearchParams): Promise<SearchResult> {
  const found = await search<Product>(deps, merchant_id, params, PRODUCT_SEARCH, 'billing.products');
  return result('/v1/products/search', found, renderProduct);
}

export async function searchPrices(deps: BillingDeps, merchant_id: string, params: SearchParams): Promise<SearchResult> {
  const found = await search<Price>(deps, merchant_id, params, PRICE_SEARCH, 'billing.prices');
  return result('/v1/prices/search', found, (price) => renderPrice(checkPrice(price)));
}

interface Found<T> {
  data: T[];
  has_more: boolean;
}

/** Newest first, as Stripe returns search results; `page` continues after the last id of the previous page. */
async function search<T>(deps: BillingDeps, merchant_id: string, params: SearchParams, resource: SearchResource, table: string): Promise<Found<T>> {
  const condition = compileSearch(resource, parseSearchQuery(params.query));
  const page: PageRequest = { limit: params.limit, starting_after: params.page === undefined ? undefined : decodePage(params.page) };
  return listPage<T>(deps.reader, { table, column: 'state' }, merchant_id, [condition], page);
}

function result<T extends { id: string }>(url: string, found: Found<T>, render: (item: T) => Record<string, unknown>): SearchResult {
  const last = found.data.at(-1);
  return {
    object: 'search_result',
    url,
    data: found.data.map(render),
    has_more: found.has_more,
    next_page: found.has_more && last ? encodePage(last.id) : null,
  };
}

function encodePage(id: string): string {
  return Buffer.from(`after:${id}`).toString('base64url');
}

function decodePage(page: string): string {
  const decoded = Buffer.from(page, 'base64url').toString('utf8');
  if (!decoded.startsWith('after:') || decoded.length > 200) throw invalidQuery('Invalid page: use the next_page of a previous search.');
  return decoded.slice('after:'.length);
}

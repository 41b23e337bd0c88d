import { sql } from '../../../platform/db.js';
import type { PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import type { SearchResource } from '../../../platform/search/compile.js';
import { compileSearch } from '../../../platform/search/compile.js';
import { invalidQuery, parseSearchQuery } from '../../../platform/search/query.js';
import type { Charge } from '../domain/charge.js';
import { checkCharge } from '../domain/charge.js';
import type { Customer } from '../domain/customer.js';
import type { PaymentIntent } from '../domain/intent.js';
import { checkIntent } from '../domain/intent.js';
import { renderCharge, renderCustomer, renderIntent } from '../adapters/render.js';
import type { PaymentsDeps } from './deps.js';

/** Search with Stripe's query language over the resources Stripe makes searchable: the query fields Stripe documents for each. */

const METADATA = `(state -> 'metadata')`;

export const CUSTOMER_SEARCH: SearchResource = {
  name: 'customers',
  metadata_sql: METADATA,
  fields: {
    created: { sql: 'created', kind: 'number' },
    email: { sql: 'email', kind: 'string' },
    name: { sql: `state ->> 'name'`, kind: 'string' },
    phone: { sql: `state ->> 'phone'`, kind: 'string' },
  },
};

export const PAYMENT_INTENT_SEARCH: SearchResource = {
  name: 'payment_intents',
  metadata_sql: METADATA,
  fields: {
    amount: { sql: 'amount', kind: 'number' },
    created: { sql: 'created', kind: 'number' },
    currency: { sql: 'currency', kind: 'string' },
    customer: { sql: 'customer_id', kind: 'string' },
    status: { sql: 'status', kind: 'string' },
  },
};

const CARD = `(state -> 'card')`;

export const CHARGE_SEARCH: SearchResource = {
  name: 'charges',
  metadata_sql: METADATA,
  fields: {
    amount: { sql: 'amount', kind: 'number' },
    'billing_details.address.postal_code': { sql: `state #>> '{billing_details,address,postal_code}'`, kind: 'string' },
    created: { sql: 'created', kind: 'number' },
    currency: { sql: 'currency', kind: 'string' },
    customer: { sql: 'customer_id', kind: 'string' },
    disputed: { sql: `COALESCE((state ->> 'disputed')::boolean, false)`, kind: 'boolean' },
    payment_intent: { sql: 'payment_intent_id', kind: 'string' },
    'payment_method_details.card.brand': { sql: `${CARD} ->> 'brand'`, kind: 'string' },
    'payment_method_details.card.exp_month': { sql: `${CARD} ->> 'exp_month'`, kind: 'number' },
    'payment_method_details.card.exp_year': { sql: `${CARD} ->> 'exp_year'`, kind: 'number' },
    'payment_method_details.card.fingerprint': { sql: `${CARD} ->> 'fingerprint'`, kind: 'string' },
    'payment_method_details.card.last4': { sql: `${CARD} ->> 'last4'`, kind: 'string' },
    refunded: { sql: `amount_captured > 0 AND amount_refunded = amount_captured`, kind: 'boolean' },
    status: { sql: 'status', kind: 'string' },
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

export async function searchCustomers(deps: PaymentsDeps, merchant_id: string, params: SearchParams): Promise<SearchResult> {
  const found = await search<Customer>(deps, merchant_id, params, CUSTOMER_SEARCH, 'payments.customers');
  return result('/v1/customers/search', found, renderCustomer);
}

export async function searchPaymentIntents(deps: PaymentsDeps, merchant_id: string, params: SearchParams): Promise<SearchResult> {
  const found = await search<PaymentIntent>(deps, merchant_id, params, PAYMENT_INTENT_SEARCH, 'payments.payment_intents');
  return result('/v1/payment_intents/search', found, (intent) => renderIntent(checkIntent(intent)));
}

export async function searchCharges(deps: PaymentsDeps, merchant_id: string, params: SearchParams): Promise<SearchResult> {
  const found = await search<Charge>(deps, merchant_id, params, CHARGE_SEARCH, 'payments.charges');
  return result('/v1/charges/search', found, (charge) => renderCharge(checkCharge(charge)));
}

interface Found<T> {
  data: (T & { id: string })[];
  has_more: boolean;
}

/** Newest first, as Stripe returns search results; `page` continues after the last id of the previous page. */
async function search<T>(deps: PaymentsDeps, merchant_id: string, params: SearchParams, resource: SearchResource, table: string): Promise<Found<T>> {
  const condition = compileSearch(resource, parseSearchQuery(params.query));
  // Deleted customers and the internal intents behind legacy Charges API charges are never found.
  const hidden = table === 'payments.customers' ? [sql`NOT deleted`] : table === 'payments.payment_intents' ? [sql`(state->>'charges_api') IS NULL`] : [];
  const filters = [...hidden, condition];
  const page: PageRequest = { limit: params.limit, starting_after: params.page === undefined ? undefined : decodePage(params.page) };
  return listPage<T & { id: string }>(deps.reader, { table, column: 'state' }, merchant_id, filters, page);
}

function result<T extends { id: string }>(url: string, found: Found<T>, render: (item: T) => Record<string, unknown>): SearchResult {
  const data = found.data.map(render);
  const last = found.data.at(-1);
  return { object: 'search_result', url, data, has_more: found.has_more, next_page: found.has_more && last ? encodePage(last.id) : null };
}

function encodePage(id: string): string {
  return Buffer.from(`after:${id}`).toString('base64url');
}

function decodePage(page: string): string {
  const decoded = Buffer.from(page, 'base64url').toString('utf8');
  if (!decoded.startsWith('after:') || decoded.length > 200) throw invalidQuery('Invalid page: use the next_page of a previous search.');
  return decoded.slice('after:'.length);
}

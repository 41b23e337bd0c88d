import type { Db } from '../../../platform/db.js';
import { listBalanceTransactions, retrieveBalance } from '../../ledger/index.js';
import { listPayouts } from '../../settlement/index.js';
import type { PaymentsDeps } from '../../payments/index.js';
import { listCustomers, listPaymentMethods, retrieveCustomer } from '../../payments/index.js';
import type { CursorPage, PageQuery } from '../list-page.js';
import { PAGE_LIMIT_DEFAULT } from './list.js';

/** Balances, balance transactions, payouts and customers: /v1's own reads, in the dashboard's list shape. */

type Json = Record<string, unknown>;

/** Stripe's list page as the dashboard's: the cursor to pass back is the last row's id. */
function cursorPage(page: { data: Json[]; has_more: boolean }): CursorPage<Json> {
  const last = page.data.at(-1)?.id;
  return { data: page.data, has_more: page.has_more, next_cursor: page.has_more && typeof last === 'string' ? last : null };
}

function stripePage(query: PageQuery): { limit: number; starting_after: string | undefined } {
  return { limit: query.limit ?? PAGE_LIMIT_DEFAULT, starting_after: query.starting_after };
}

export interface Balances {
  available: { amount: number; currency: string }[];
  pending: { amount: number; currency: string }[];
}

export async function balances(db: Db, merchant_id: string): Promise<Balances> {
  const balance = (await retrieveBalance(db, merchant_id)) as { available: Json[]; pending: Json[] };
  const amounts = (entries: Json[]) => entries.map((entry) => ({ amount: Number(entry.amount), currency: String(entry.currency) }));
  return { available: amounts(balance.available), pending: amounts(balance.pending) };
}

export async function balanceTransactions(db: Db, merchant_id: string, query: PageQuery, now_s: number): Promise<CursorPage<Json>> {
  return cursorPage(await listBalanceTransactions(db, merchant_id, stripePage(query), {}, now_s));
}

export async function payouts(db: Db, merchant_id: string, query: PageQuery): Promise<CursorPage<Json>> {
  return cursorPage(await listPayouts(db, merchant_id, stripePage(query), {}));
}

export async function customers(payments: PaymentsDeps, merchant_id: string, query: PageQuery): Promise<CursorPage<Json>> {
  const page = await listCustomers(payments, merchant_id, stripePage(query));
  return cursorPage({ data: page.data.map(customerSummary), has_more: page.has_more });
}

/** Cards a customer detail page shows at most. */
const CUSTOMER_CARDS_MAX = 100;

/** A customer and its saved cards: brand, last4 and expiry only (never a fingerprint or billing address). */
export async function customerDetail(payments: PaymentsDeps, merchant_id: string, id: string): Promise<Json> {
  const customer = await retrieveCustomer(payments, merchant_id, id);
  const methods = await listPaymentMethods(payments, merchant_id, id, { limit: CUSTOMER_CARDS_MAX });
  const payment_methods = methods.data.map((method) => {
    const card = (method.card ?? {}) as Json;
    return { id: method.id, brand: card.brand, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year };
  });
  return { customer: customerSummary(customer), payment_methods };
}

function customerSummary(customer: Json): Json {
  return {
    id: customer.id,
    email: customer.email,
    name: customer.name,
    created: customer.created,
    description: customer.description,
    metadata: customer.metadata,
  };
}

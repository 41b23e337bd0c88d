import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { BalanceTransactionRow } from '../adapters/render.js';
import { VISIBLE_KINDS, kindsForStripeType, renderBalance, renderBalanceTransaction } from '../adapters/render.js';
import { accountsOf } from '../adapters/store.js';

/** GET /v1/balance: the merchant's pending and available accounts, per currency. */
export async function retrieveBalance(db: Db, merchant_id: string): Promise<Record<string, unknown>> {
  return renderBalance(await accountsOf(db, merchant_id));
}

const ROW = `json_build_object('id', id, 'kind', kind, 'currency', currency, 'created', created, 'available_on', available_on, 'net', net, 'fee', fee, 'source_id', source_id, 'conversion', conversion)`;

export async function retrieveBalanceTransaction(db: Db, merchant_id: string, id: string, now_s: number): Promise<Record<string, unknown>> {
  const result = await run<BalanceTransactionRow>(
    db,
    sql`
    SELECT id, kind, currency, created, available_on, net, fee, source_id, conversion FROM ledger.transfers
    WHERE merchant_id = ${merchant_id} AND id = ${id} AND kind = ANY(${VISIBLE_KINDS}::text[])`,
  );
  const row = result.rows[0];
  if (!row) throw new PayrailError('resource_missing', { param: 'id', message: `No such balance transaction: '${id.slice(0, 64)}'` });
  return renderBalanceTransaction(row, now_s);
}

export interface BalanceTransactionFilter {
  type?: string | undefined;
  source?: string | undefined;
  currency?: string | undefined;
  payout?: string | undefined;
  /** With `payout`: the balance transactions that payout settled (from the settlement service). */
  payout_transactions?: readonly string[] | undefined;
}

/** GET /v1/balance_transactions: newest first, cursor-paginated, filtered as Stripe filters. */
export async function listBalanceTransactions(
  db: Db,
  merchant_id: string,
  page: PageRequest,
  filter: BalanceTransactionFilter,
  now_s: number,
): Promise<Page<Record<string, unknown>>> {
  const kinds = filter.type === undefined ? VISIBLE_KINDS : kindsForStripeType(filter.type);
  if (kinds.length === 0) return { data: [], has_more: false };
  const filters = [
    sql`kind = ANY(${kinds}::text[])`,
    ...(filter.payout !== undefined ? [sql`id = ANY(${filter.payout_transactions ?? []}::text[])`] : []),
    ...(filter.source !== undefined ? [sql`source_id = ${filter.source}`] : []),
    ...(filter.currency !== undefined ? [sql`currency = ${filter.currency}`] : []),
  ];
  const result = await listPage<BalanceTransactionRow>(db, { table: 'ledger.transfers', column: ROW }, merchant_id, filters, page);
  return { data: result.data.map((row) => renderBalanceTransaction(row, now_s)), has_more: result.has_more };
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Invoice } from '../domain/invoice.js';
import { amountDue, checkInvoice } from '../domain/invoice.js';
import type { InvoiceItem } from '../domain/invoice-item.js';
import { PENDING_ITEMS_PER_INVOICE_MAX, checkInvoiceItem } from '../domain/invoice-item.js';

/** SQL for invoices, invoice items and the per-merchant number counter. Writes are fragments the write pipeline commits. */

export function insertInvoice(invoice: Invoice): SqlFragment {
  checkInvoice(invoice);
  return sql`INSERT INTO billing.invoices (merchant_id, id, customer_id, subscription_id, status, collection_method, billing_reason, number, currency,
      amount_due, amount_paid, period_start, due_date, created, version, state)
    VALUES (${invoice.merchant_id}, ${invoice.id}, ${invoice.customer}, ${invoice.subscription}, ${invoice.status}, ${invoice.collection_method},
      ${invoice.billing_reason}, ${invoice.number}, ${invoice.currency}, ${amountDue(invoice)}, ${invoice.amount_paid}, ${invoice.period_start},
      ${invoice.due_date}, ${invoice.created}, ${invoice.version}, ${JSON.stringify(invoice)}::json)`;
}

/** Affects no row unless the stored version is still the one `invoice` was derived from. */
export function updateInvoice(invoice: Invoice, previous_version: number): SqlFragment {
  checkInvoice(invoice);
  return sql`UPDATE billing.invoices SET status = ${invoice.status}, collection_method = ${invoice.collection_method}, number = ${invoice.number},
      amount_due = ${amountDue(invoice)}, amount_paid = ${invoice.amount_paid}, due_date = ${invoice.due_date}, version = ${invoice.version},
      state = ${JSON.stringify(invoice)}::json
    WHERE merchant_id = ${invoice.merchant_id} AND id = ${invoice.id} AND version = ${previous_version}`;
}

export function deleteInvoice(invoice: Invoice): SqlFragment {
  return sql`DELETE FROM billing.invoices WHERE merchant_id = ${invoice.merchant_id} AND id = ${invoice.id} AND version = ${invoice.version} AND status = 'draft'`;
}

export async function findInvoice(db: Db, merchant_id: string, id: string): Promise<Invoice | undefined> {
  const result = await run<{ state: Invoice; version: number }>(
    db,
    sql`SELECT state, version FROM billing.invoices WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`invoice ${id}: stored version ${row.version} and state disagree`);
  return checkInvoice(row.state);
}

export async function getInvoice(db: Db, merchant_id: string, id: string, param = 'invoice'): Promise<Invoice> {
  const invoice = await findInvoice(db, merchant_id, id);
  if (!invoice) throw new PayrailError('resource_missing', { param, message: `No such invoice: '${id.slice(0, 64)}'` });
  return invoice;
}

/** The hosted page and the PDF know an invoice by its id alone (and its page secret). */
export async function findInvoiceById(db: Db, id: string): Promise<Invoice | undefined> {
  const result = await run<{ merchant_id: string }>(db, sql`SELECT merchant_id FROM billing.invoices WHERE id = ${id}`);
  const merchant_id = result.rows[0]?.merchant_id;
  return merchant_id === undefined ? undefined : findInvoice(db, merchant_id, id);
}

export interface InvoiceFilters {
  customer?: string | undefined;
  status?: string | undefined;
  subscription?: string | undefined;
  collection_method?: string | undefined;
}

export async function listInvoices(db: Db, merchant_id: string, filters: InvoiceFilters, page: PageRequest): Promise<Page<Invoice>> {
  const conditions: SqlFragment[] = [];
  if (filters.customer !== undefined) conditions.push(sql`customer_id = ${filters.customer}`);
  if (filters.status !== undefined) conditions.push(sql`status = ${filters.status}`);
  if (filters.subscription !== undefined) conditions.push(sql`subscription_id = ${filters.subscription}`);
  if (filters.collection_method !== undefined) conditions.push(sql`collection_method = ${filters.collection_method}`);
  const result = await listPage<Invoice>(db, { table: 'billing.invoices', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkInvoice), has_more: result.has_more };
}

// Invoice items

export function insertInvoiceItem(item: InvoiceItem): SqlFragment {
  checkInvoiceItem(item);
  return sql`INSERT INTO billing.invoice_items (merchant_id, id, customer_id, invoice_id, currency, amount, created, version, state)
    VALUES (${item.merchant_id}, ${item.id}, ${item.customer}, ${item.invoice}, ${item.currency}, ${item.amount}, ${item.date}, ${item.version},
      ${JSON.stringify(item)}::json)`;
}

export function updateInvoiceItem(item: InvoiceItem, previous_version: number): SqlFragment {
  checkInvoiceItem(item);
  return sql`UPDATE billing.invoice_items SET invoice_id = ${item.invoice}, amount = ${item.amount}, version = ${item.version},
      state = ${JSON.stringify(item)}::json
    WHERE merchant_id = ${item.merchant_id} AND id = ${item.id} AND version = ${previous_version}`;
}

export function deleteInvoiceItem(item: InvoiceItem): SqlFragment {
  return sql`DELETE FROM billing.invoice_items WHERE merchant_id = ${item.merchant_id} AND id = ${item.id} AND version = ${item.version}`;
}

export async function getInvoiceItem(db: Db, merchant_id: string, id: string): Promise<InvoiceItem> {
  const result = await run<{ state: InvoiceItem; version: number }>(
    db,
    sql`SELECT state, version FROM billing.invoice_items WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) throw new PayrailError('resource_missing', { param: 'id', message: `No such invoiceitem: '${id.slice(0, 64)}'` });
  if (row.state.version !== row.version) throw new Error(`invoice item ${id}: stored version ${row.version} and state disagree`);
  return checkInvoiceItem(row.state);
}

/** A customer's pending items, oldest first, as many as one invoice takes. */
export async function pendingItems(db: Db, merchant_id: string, customer: string): Promise<InvoiceItem[]> {
  const result = await run<{ state: InvoiceItem }>(
    db,
    sql`SELECT state FROM billing.invoice_items WHERE merchant_id = ${merchant_id} AND customer_id = ${customer} AND invoice_id IS NULL
      ORDER BY id LIMIT ${PENDING_ITEMS_PER_INVOICE_MAX}`,
  );
  return result.rows.map((row) => checkInvoiceItem(row.state));
}

export interface InvoiceItemFilters {
  customer?: string | undefined;
  invoice?: string | undefined;
  pending?: boolean | undefined;
}

export async function listInvoiceItems(db: Db, merchant_id: string, filters: InvoiceItemFilters, page: PageRequest): Promise<Page<InvoiceItem>> {
  const conditions: SqlFragment[] = [];
  if (filters.customer !== undefined) conditions.push(sql`customer_id = ${filters.customer}`);
  if (filters.invoice !== undefined) conditions.push(sql`invoice_id = ${filters.invoice}`);
  if (filters.pending === true) conditions.push(sql`invoice_id IS NULL`);
  if (filters.pending === false) conditions.push(sql`invoice_id IS NOT NULL`);
  const result = await listPage<InvoiceItem>(db, { table: 'billing.invoice_items', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkInvoiceItem), has_more: result.has_more };
}

// Numbering

export async function numberCounter(db: Db, merchant_id: string): Promise<{ prefix: string; last_sequence: number } | undefined> {
  const result = await run<{ prefix: string; last_sequence: number }>(
    db,
    sql`SELECT prefix, last_sequence FROM billing.invoice_numbers WHERE merchant_id = ${merchant_id}`,
  );
  return result.rows[0];
}

/**
 * Takes `sequence` for the merchant: affects a row only if the counter is still at `sequence - 1`
 * (or absent, for the first), so two finalizations racing cannot take one number, and a statement
 * that rolls back leaves the counter where it was.
 */
export function takeInvoiceNumber(merchant_id: string, prefix: string, sequence: number): SqlFragment {
  return sql`INSERT INTO billing.invoice_numbers AS counter (merchant_id, prefix, last_sequence) VALUES (${merchant_id}, ${prefix}, ${sequence})
    ON CONFLICT (merchant_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence
    WHERE counter.last_sequence = EXCLUDED.last_sequence - 1 AND counter.prefix = EXCLUDED.prefix`;
}

import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { outboxInsert } from '../../events/index.js';
import type { CollectionMethod, Invoice } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import type { CreateInvoiceParams, UpdateInvoiceParams } from '../adapters/invoice-schemas.js';
import { renderInvoice, renderLines } from '../adapters/invoice-render.js';
import type { InvoiceFilters } from '../adapters/invoice-store.js';
import { deleteInvoice, getInvoice, getInvoiceItem, listInvoices, pendingItems, updateInvoice, updateInvoiceItem } from '../adapters/invoice-store.js';
import type { InvoiceItem } from '../domain/invoice-item.js';
import type { BillingDeps } from './deps.js';
import { draftInvoiceWrites } from './invoice-drafts.js';
import { requireCustomerPaymentMethod } from './invoice-payment-method.js';

/** /v1/invoices: create (a manual draft), retrieve, update a draft, delete a draft, list, and an invoice's lines. */

type Json = Record<string, unknown>;

export async function createInvoice(deps: BillingDeps, ctx: OperationContext, params: CreateInvoiceParams): Promise<Outcome> {
  if (params.subscription !== undefined) {
    throw new PayrailError('parameter_invalid', {
      param: 'subscription',
      message: 'Invoices for a subscription are created by the subscription (on creation and at each renewal); create this one without it.',
    });
  }
  const collection_method = params.collection_method ?? 'charge_automatically';
  const terms = paymentTerms(collection_method, params, ctx.now_s);
  const pending = await pendingItems(ctx.reader, ctx.merchant_id, params.customer);
  const currency = params.currency ?? pending[0]?.currency ?? 'usd';
  if (params.default_payment_method)
    await requireCustomerPaymentMethod(deps, ctx.merchant_id, params.customer, params.default_payment_method, 'default_payment_method');
  const drafted = await draftInvoiceWrites(deps, ctx, {
    customer: params.customer,
    currency,
    subscription: null,
    billing_reason: 'manual',
    collection_method,
    ...terms,
    period_start: ctx.now_s,
    period_end: ctx.now_s,
    lines: [],
    include_pending_items: params.pending_invoice_items_behavior === 'include',
    auto_advance: params.auto_advance ?? collection_method === 'charge_automatically',
    default_payment_method: params.default_payment_method ?? null,
    description: params.description ?? null,
    footer: params.footer ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
  });
  const outcome: Outcome = { ok: renderInvoice(drafted.invoice, deps.public_url()) };
  await ctx.commit([...drafted.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, drafted.events)], outcome);
  return outcome;
}

/** Stripe's rules: days_until_due and due_date belong to sent invoices, which need one of them; a due date lies ahead. */
function paymentTerms(
  collection_method: CollectionMethod,
  params: { days_until_due?: number | undefined; due_date?: number | undefined },
  now_s: number,
): { days_until_due: number | null; due_date: number | null } {
  if (collection_method === 'charge_automatically') {
    const param = params.days_until_due !== undefined ? 'days_until_due' : params.due_date !== undefined ? 'due_date' : undefined;
    if (param) throw new PayrailError('parameter_invalid', { param, message: `Invoices with collection_method=charge_automatically cannot have a ${param}.` });
    return { days_until_due: null, due_date: null };
  }
  if (params.days_until_due !== undefined && params.due_date !== undefined) {
    throw new PayrailError('parameters_exclusive', { param: 'due_date', message: 'You may only specify one of these parameters: days_until_due, due_date.' });
  }
  if (params.days_until_due === undefined && params.due_date === undefined) {
    throw new PayrailError('parameter_missing', {
      param: 'days_until_due',
      message: 'Invoices with collection_method=send_invoice must have either a due_date or days_until_due.',
    });
  }
  if (params.due_date !== undefined && params.due_date <= now_s) {
    throw new PayrailError('parameter_invalid', { param: 'due_date', message: 'The due_date must be in the future.' });
  }
  return { days_until_due: params.days_until_due ?? null, due_date: params.due_date ?? null };
}

export async function retrieveInvoice(deps: BillingDeps, merchant_id: string, id: string): Promise<Json> {
  return renderInvoice(await getInvoice(deps.reader, merchant_id, id), deps.public_url());
}

export async function updateDraftInvoice(deps: BillingDeps, ctx: OperationContext, id: string, params: UpdateInvoiceParams): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  const only_metadata = Object.keys(params).every((key) => key === 'metadata' || key === 'expand');
  // Stripe lets metadata (and little else) change after finalization; everything else only on a draft.
  if (!only_metadata) Inv.requireAllowed(before, 'update');
  const collection_method = params.collection_method ?? before.collection_method;
  const terms = only_metadata
    ? { days_until_due: before.days_until_due, due_date: before.due_date }
    : termsForUpdate(before, collection_method, params, ctx.now_s);
  if (params.default_payment_method)
    await requireCustomerPaymentMethod(deps, ctx.merchant_id, before.customer, params.default_payment_method, 'default_payment_method');
  const after: Invoice = {
    ...before,
    collection_method,
    ...terms,
    auto_advance: params.auto_advance ?? before.auto_advance,
    default_payment_method: params.default_payment_method !== undefined ? params.default_payment_method : before.default_payment_method,
    description: params.description !== undefined ? params.description : before.description,
    footer: params.footer !== undefined ? params.footer : before.footer,
    metadata: mergeMetadata(before.metadata, params.metadata ?? {}),
    version: before.version + 1,
  };
  const rendered = renderInvoice(after, deps.public_url());
  const outcome: Outcome = { ok: rendered };
  const event = { type: 'invoice.updated', object: rendered, previous_attributes: changedFields(renderInvoice(before, deps.public_url()), rendered) };
  await ctx.commit([updateInvoice(after, before.version), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [event])], outcome);
  return outcome;
}

/** Terms a draft keeps unless the update replaces them; switching to charge_automatically drops them. */
function termsForUpdate(
  before: Invoice,
  collection_method: CollectionMethod,
  params: UpdateInvoiceParams,
  now_s: number,
): { days_until_due: number | null; due_date: number | null } {
  if (collection_method === 'charge_automatically') return paymentTerms(collection_method, params, now_s);
  const replaced = params.days_until_due !== undefined || params.due_date !== undefined;
  const kept = { days_until_due: before.days_until_due ?? undefined, due_date: before.due_date ?? undefined };
  return paymentTerms(collection_method, replaced ? params : kept, now_s);
}

function changedFields(before: Json, after: Json): Json {
  const changed: Json = {};
  for (const [key, value] of Object.entries(before)) if (JSON.stringify(value) !== JSON.stringify(after[key])) changed[key] = value;
  return changed;
}

/** Deletes a draft; its invoice items become pending again, as in Stripe. */
export async function deleteDraftInvoice(deps: BillingDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getInvoice(ctx.reader, ctx.merchant_id, id);
  Inv.requireAllowed(before, 'delete');
  const items = await itemsOn(ctx, before);
  const released = items.map((item) => updateInvoiceItem({ ...item, invoice: null, version: item.version + 1 }, item.version));
  const outcome: Outcome = { ok: { id, object: 'invoice', deleted: true } };
  const event = { type: 'invoice.deleted', object: renderInvoice(before, deps.public_url()) };
  await ctx.commit([...released, deleteInvoice(before), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [event])], outcome);
  return outcome;
}

async function itemsOn(ctx: OperationContext, invoice: Invoice): Promise<InvoiceItem[]> {
  const ids = invoice.lines.flatMap((line) => (line.invoice_item === null ? [] : [line.invoice_item]));
  return Promise.all(ids.map((item_id) => getInvoiceItem(ctx.reader, ctx.merchant_id, item_id)));
}

export async function listAllInvoices(deps: BillingDeps, merchant_id: string, filters: InvoiceFilters, page: PageRequest): Promise<Page<Json>> {
  const result = await listInvoices(deps.reader, merchant_id, filters, page);
  return { data: result.data.map((invoice) => renderInvoice(invoice, deps.public_url())), has_more: result.has_more };
}

/** Lines are few (at most 250) and kept in the invoice; the cursors walk them in order. */
export async function invoiceLines(
  deps: BillingDeps,
  merchant_id: string,
  id: string,
  page: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined },
): Promise<Json> {
  const invoice = await getInvoice(deps.reader, merchant_id, id);
  return linesPage(invoice, page, `/v1/invoices/${id}/lines`);
}

export function linesPage(
  invoice: Invoice,
  page: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined },
  url: string,
): Json {
  const all = invoice.lines;
  const limit = page.limit ?? 10;
  const cursor = page.starting_after ?? page.ending_before;
  const at = cursor === undefined ? -1 : all.findIndex((line) => line.id === cursor);
  if (cursor !== undefined && at < 0) {
    const param = page.starting_after !== undefined ? 'starting_after' : 'ending_before';
    throw new PayrailError('resource_missing', { param, message: `No such line item for ${param}: '${cursor.slice(0, 64)}'` });
  }
  if (page.ending_before !== undefined && page.starting_after === undefined) {
    return renderLines(invoice, all.slice(Math.max(0, at - limit), at), at - limit > 0, url);
  }
  const start = at + 1;
  return renderLines(invoice, all.slice(start, start + limit), start + limit < all.length, url);
}

import { PayrailError } from '../../../kernel/errors.js';
import { MAX_AMOUNT } from '../../../kernel/money.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Invoice } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import type { InvoiceItem } from '../domain/invoice-item.js';
import { checkInvoiceItem, lineOf } from '../domain/invoice-item.js';
import { priceAmount } from '../domain/price.js';
import type { CreateItemParams, UpdateItemParams } from '../adapters/invoice-schemas.js';
import { renderInvoice, renderInvoiceItem } from '../adapters/invoice-render.js';
import type { InvoiceItemFilters } from '../adapters/invoice-store.js';
import * as Store from '../adapters/invoice-store.js';
import { getPrice } from '../adapters/catalog-store.js';
import { renderPrice } from '../adapters/catalog-render.js';
import type { BillingDeps } from './deps.js';
import { customerFacts } from './invoice-drafts.js';

/**
 * /v1/invoiceitems: a charge or credit for a customer, pending until an invoice takes it, or added
 * straight to a draft invoice (`invoice`). Changing or deleting an item on a draft changes that
 * draft's line in the same statement; an item on a finalized invoice no longer changes.
 */

type Json = Record<string, unknown>;

interface Pricing {
  currency: string | undefined;
  unit_amount: number;
  quantity: number;
  amount: number;
  price: string | null;
  price_object: Json | null;
}

export async function createInvoiceItem(deps: BillingDeps, ctx: OperationContext, params: CreateItemParams): Promise<Outcome> {
  const customer = await customerFacts(deps, ctx.merchant_id, params.customer);
  const pricing = await priceOf(ctx, params, undefined);
  const target = params.invoice === undefined ? undefined : await Store.getInvoice(ctx.reader, ctx.merchant_id, params.invoice, 'invoice');
  const currency = pricing.currency ?? params.currency ?? target?.currency;
  if (currency === undefined) throw new PayrailError('parameter_missing', { param: 'currency', message: 'Missing required param: currency.' });
  if (params.currency !== undefined && pricing.currency !== undefined && params.currency !== pricing.currency) {
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `The currency ${params.currency} does not match the price's currency ${pricing.currency}.`,
    });
  }
  const invoice = target === undefined ? undefined : draftFor(target, params.customer, currency);
  if (!invoice) await requireCurrencyOfPending(ctx, params.customer, currency);
  const item: InvoiceItem = checkInvoiceItem({
    id: ctx.ids.next('invoice_item'),
    merchant_id: ctx.merchant_id,
    customer: params.customer,
    currency,
    amount: pricing.amount,
    unit_amount: pricing.unit_amount,
    quantity: pricing.quantity,
    description: params.description ?? null,
    price: pricing.price,
    price_object: pricing.price_object,
    period: periodOf(params.period, ctx.now_s),
    proration: false,
    invoice: invoice?.id ?? null,
    subscription: null,
    subscription_item: null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    test_clock: customer.test_clock,
    date: ctx.now_s,
    version: 1,
  });
  const rendered = renderInvoiceItem(item);
  const outcome: Outcome = { ok: rendered };
  const events: EventDraft[] = [{ type: 'invoiceitem.created', object: rendered }];
  const writes: SqlFragment[] = [Store.insertInvoiceItem(item)];
  if (invoice) writes.push(...onDraft(deps, invoice, (lines) => [...lines, lineOf(item, ctx.ids.next('invoice_line'))], events));
  await ctx.commit([...writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

export async function updateInvoiceItem(deps: BillingDeps, ctx: OperationContext, id: string, params: UpdateItemParams): Promise<Outcome> {
  const before = await Store.getInvoiceItem(ctx.reader, ctx.merchant_id, id);
  const invoice = before.invoice === null ? undefined : await Store.getInvoice(ctx.reader, ctx.merchant_id, before.invoice);
  if (invoice) Inv.requireAllowed(invoice, 'update');
  const pricing = await priceOf(ctx, params, before);
  if (pricing.currency !== undefined && pricing.currency !== before.currency) {
    throw new PayrailError('parameter_invalid', {
      param: 'price',
      message: `The price's currency ${pricing.currency} is not this item's currency ${before.currency}.`,
    });
  }
  const after = checkInvoiceItem({
    ...before,
    ...pricing,
    currency: before.currency,
    description: params.description !== undefined ? params.description : before.description,
    period: params.period ? periodOf(params.period, ctx.now_s) : before.period,
    metadata: mergeMetadata(before.metadata, params.metadata ?? {}),
    version: before.version + 1,
  });
  const rendered = renderInvoiceItem(after);
  const outcome: Outcome = { ok: rendered };
  // Stripe sends no invoiceitem.updated in 2023-08-16's list of types; the draft's invoice.updated says it.
  const events: EventDraft[] = [];
  const writes: SqlFragment[] = [Store.updateInvoiceItem(after, before.version)];
  if (invoice)
    writes.push(...onDraft(deps, invoice, (lines) => lines.map((line) => (line.invoice_item === id ? { ...lineOf(after, line.id) } : line)), events));
  await ctx.commit(events.length > 0 ? [...writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)] : writes, outcome);
  return outcome;
}

export async function deleteInvoiceItem(deps: BillingDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await Store.getInvoiceItem(ctx.reader, ctx.merchant_id, id);
  const invoice = before.invoice === null ? undefined : await Store.getInvoice(ctx.reader, ctx.merchant_id, before.invoice);
  if (invoice) Inv.requireAllowed(invoice, 'update');
  const outcome: Outcome = { ok: { id, object: 'invoiceitem', deleted: true } };
  const events: EventDraft[] = [{ type: 'invoiceitem.deleted', object: renderInvoiceItem(before) }];
  const writes: SqlFragment[] = [Store.deleteInvoiceItem(before)];
  if (invoice) writes.push(...onDraft(deps, invoice, (lines) => lines.filter((line) => line.invoice_item !== id), events));
  await ctx.commit([...writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

export async function retrieveInvoiceItem(deps: BillingDeps, merchant_id: string, id: string): Promise<Json> {
  return renderInvoiceItem(await Store.getInvoiceItem(deps.reader, merchant_id, id));
}

export async function listAllInvoiceItems(deps: BillingDeps, merchant_id: string, filters: InvoiceItemFilters, page: PageRequest): Promise<Page<Json>> {
  const result = await Store.listInvoiceItems(deps.reader, merchant_id, filters, page);
  return { data: result.data.map(renderInvoiceItem), has_more: result.has_more };
}

/** The draft's lines changed with the item, under the draft's version, and its invoice.updated event. */
function onDraft(deps: BillingDeps, invoice: Invoice, change: (lines: Invoice['lines']) => Invoice['lines'], events: EventDraft[]): SqlFragment[] {
  const lines = change(invoice.lines);
  if (lines.length > Inv.INVOICE_LINES_MAX) {
    throw new PayrailError('parameter_invalid', { param: 'invoice', message: `An invoice has at most ${Inv.INVOICE_LINES_MAX} lines.` });
  }
  const after: Invoice = { ...invoice, lines, version: invoice.version + 1 };
  const rendered = renderInvoice(after, deps.public_url());
  events.push({ type: 'invoice.updated', object: rendered, previous_attributes: { lines: renderInvoice(invoice, deps.public_url()).lines } });
  return [Store.updateInvoice(after, invoice.version)];
}

/** Stripe's rules for adding an item to an invoice: the same customer's draft, in its currency. */
function draftFor(invoice: Invoice, customer: string, currency: string): Invoice {
  const id = invoice.id;
  if (invoice.customer !== customer) {
    throw new PayrailError('parameter_invalid', { param: 'invoice', message: `Invoice ${id} belongs to another customer than ${customer.slice(0, 64)}.` });
  }
  if (invoice.status !== 'draft') {
    throw new PayrailError('invoice_not_editable', {
      param: 'invoice',
      message: `You can only add invoice items to draft invoices; invoice ${id} is ${invoice.status}.`,
    });
  }
  if (invoice.currency !== currency) {
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `The currency of this invoice item (${currency}) does not match the currency of invoice ${id} (${invoice.currency}).`,
    });
  }
  return invoice;
}

/** Stripe keeps a customer's pending items in one currency: the next invoice takes them all. */
async function requireCurrencyOfPending(ctx: OperationContext, customer: string, currency: string): Promise<void> {
  const other = (await Store.pendingItems(ctx.reader, ctx.merchant_id, customer)).find((item) => item.currency !== currency);
  if (other) {
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `The currency of this invoice item (${currency}) does not match the currency of the customer's other pending invoice items (${other.currency}).`,
    });
  }
}

/** One of amount, unit_amount (× quantity) or a catalog price (× quantity); on update, what is not given is kept. */
async function priceOf(
  ctx: OperationContext,
  params: { amount?: number | undefined; unit_amount?: number | undefined; quantity?: number | undefined; price?: string | undefined },
  before: InvoiceItem | undefined,
): Promise<Pricing> {
  const given = (['amount', 'unit_amount', 'price'] as const).filter((name) => params[name] !== undefined);
  if (given.length > 1) {
    throw new PayrailError('parameters_exclusive', { param: given[1], message: `You may only specify one of these parameters: ${given.join(', ')}.` });
  }
  if (params.amount !== undefined && params.quantity !== undefined && params.quantity !== 1) {
    throw new PayrailError('parameter_invalid', { param: 'quantity', message: 'When amount is given, quantity must be 1: use unit_amount with a quantity.' });
  }
  const quantity = params.quantity ?? before?.quantity ?? 1;
  if (params.price !== undefined || (given.length === 0 && before?.price)) {
    const price = await getPrice(ctx.reader, ctx.merchant_id, params.price ?? before?.price ?? '', 'price');
    if (price.type !== 'one_time' && params.price !== undefined) {
      throw new PayrailError('parameter_invalid', { param: 'price', message: `The price ${price.id} is recurring: invoice items take one-time prices.` });
    }
    const amount = priceAmount(price, quantity);
    return {
      currency: price.currency,
      unit_amount: quantity === 0 ? 0 : Math.round(amount / quantity),
      quantity,
      amount,
      price: price.id,
      price_object: renderPrice(price),
    };
  }
  if (params.amount !== undefined)
    return { currency: undefined, unit_amount: params.amount, quantity: 1, amount: params.amount, price: null, price_object: null };
  const unit_amount = params.unit_amount ?? before?.unit_amount;
  if (unit_amount === undefined) {
    throw new PayrailError('parameter_missing', { param: 'amount', message: 'Missing required param: one of amount, unit_amount or price.' });
  }
  const amount = unit_amount * quantity;
  if (Math.abs(amount) > MAX_AMOUNT)
    throw new PayrailError('amount_too_large', { param: 'quantity', message: `unit_amount × quantity must be at most ${MAX_AMOUNT}.` });
  return { currency: undefined, unit_amount, quantity, amount, price: null, price_object: null };
}

function periodOf(period: { start: number; end: number } | undefined, now_s: number): { start: number; end: number } {
  if (!period) return { start: now_s, end: now_s };
  if (period.end < period.start)
    throw new PayrailError('parameter_invalid', { param: 'period[end]', message: 'The period end must be at or after its start.' });
  return period;
}

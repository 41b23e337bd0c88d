import { randomBytes } from 'node:crypto';
import { PayrailError } from '../../../kernel/errors.js';
import type { SqlFragment } from '../../../platform/db.js';
import { isUniqueViolation } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
export type { LineDraft } from '../domain/invoice.js';
import type { EventDraft } from '../../events/index.js';
import { retrieveCustomer } from '../../payments/index.js';
import type { BillingReason, CollectionMethod, Invoice, InvoiceLine, LineDraft } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import { lineOf } from '../domain/invoice-item.js';
import { INVOICE_PREFIX_LENGTH, formatInvoiceNumber, prefixFromBytes } from '../domain/invoice-number.js';
import { renderInvoice } from '../adapters/invoice-render.js';
import { insertInvoice, numberCounter, pendingItems, takeInvoiceNumber, updateInvoiceItem } from '../adapters/invoice-store.js';
import { getPrice } from '../adapters/catalog-store.js';
import { renderPrice } from '../adapters/catalog-render.js';
import type { BillingDeps } from './deps.js';
import { runHooks } from './invoice-hooks.js';

/**
 * A new invoice's writes, for this service's own create and for subscriptions, whose first invoice
 * commits in the same statement as the subscription. Numbers are taken here too: gapless, because the
 * counter moves in the statement that finalizes.
 */

export interface InvoiceDraft {
  customer: string;
  currency: string;
  subscription: string | null;
  billing_reason: BillingReason;
  collection_method: CollectionMethod;
  days_until_due: number | null;
  /** A sent invoice's due date, when set explicitly (else finalization computes it from days_until_due). */
  due_date?: number | null;
  period_start: number;
  period_end: number;
  lines: LineDraft[];
  /** Take the customer's pending invoice items (in this currency) as lines. */
  include_pending_items: boolean;
  auto_advance: boolean;
  default_payment_method: string | null;
  description?: string | null;
  footer?: string | null;
  metadata?: Record<string, string>;
  /** Finalize in the same statement (a subscription's invoices are finalized at once, as in Stripe). */
  finalize?: boolean;
}

export interface InvoiceWrites {
  invoice: Invoice;
  writes: SqlFragment[];
  events: EventDraft[];
}

const PAGE_SECRET_BYTES = 24;

export interface CustomerFacts {
  email: string | null;
  name: string | null;
  default_payment_method: string | null;
  test_clock: string | null;
}

export async function customerFacts(deps: BillingDeps, merchant_id: string, id: string, param = 'customer'): Promise<CustomerFacts> {
  const missing = () => new PayrailError('resource_missing', { param, message: `No such customer: '${id.slice(0, 64)}'` });
  const customer = await retrieveCustomer(deps.payments, merchant_id, id).catch((error: unknown) => {
    throw error instanceof PayrailError ? missing() : error;
  });
  if (customer.deleted === true) throw missing();
  const settings = customer.invoice_settings as { default_payment_method?: unknown } | null | undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    email: text(customer.email),
    name: text(customer.name),
    default_payment_method: text(settings?.default_payment_method),
    test_clock: text(customer.test_clock),
  };
}

export async function draftInvoiceWrites(deps: BillingDeps, ctx: OperationContext, draft: InvoiceDraft): Promise<InvoiceWrites> {
  const customer = await customerFacts(deps, ctx.merchant_id, draft.customer);
  const invoice_id = ctx.ids.next('invoice');
  const price_objects = await priceObjects(ctx, draft.lines);
  const lines: InvoiceLine[] = draft.lines.map((line) => ({
    id: ctx.ids.next('invoice_line'),
    type: 'subscription',
    amount: line.amount,
    currency: draft.currency,
    description: line.description,
    invoice_item: null,
    price: line.price,
    price_object: line.price === null ? null : (price_objects.get(line.price) ?? null),
    quantity: line.quantity,
    period: line.period,
    proration: line.proration,
    subscription: draft.subscription,
    subscription_item: line.subscription_item,
    metadata: {},
  }));
  const writes: SqlFragment[] = [];
  if (draft.include_pending_items) {
    const pending = (await pendingItems(ctx.reader, ctx.merchant_id, draft.customer)).filter((item) => item.currency === draft.currency);
    for (const item of pending.slice(0, Inv.INVOICE_LINES_MAX - lines.length)) {
      lines.unshift(lineOf(item, ctx.ids.next('invoice_line')));
      writes.push(updateInvoiceItem({ ...item, invoice: invoice_id, version: item.version + 1 }, item.version));
    }
  }
  const created: Invoice = {
    id: invoice_id,
    merchant_id: ctx.merchant_id,
    customer: draft.customer,
    currency: draft.currency,
    status: 'draft',
    number: null,
    auto_advance: draft.auto_advance,
    collection_method: draft.collection_method,
    days_until_due: draft.days_until_due,
    due_date: draft.due_date ?? null,
    default_payment_method: draft.default_payment_method,
    description: draft.description ?? null,
    footer: draft.footer ?? null,
    metadata: draft.metadata ?? {},
    subscription: draft.subscription,
    billing_reason: draft.billing_reason,
    period_start: draft.period_start,
    period_end: draft.period_end,
    lines,
    amount_paid: 0,
    attempt_count: 0,
    attempted: false,
    paid_out_of_band: false,
    payment_intent: null,
    charge: null,
    next_payment_attempt: null,
    status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    customer_email: customer.email,
    customer_name: customer.name,
    test_clock: customer.test_clock,
    page_secret: randomBytes(PAGE_SECRET_BYTES).toString('base64url'),
    created: ctx.now_s,
    version: 1,
  };
  const events: EventDraft[] = [{ type: 'invoice.created', object: renderInvoice(created, deps.public_url()) }];
  if (!draft.finalize) return { invoice: Inv.checkInvoice(created), writes: [...writes, insertInvoice(created)], events };
  const finalized = await finalizationOf(deps, ctx, created);
  return { invoice: finalized.invoice, writes: [...writes, insertInvoice(finalized.invoice), ...finalized.writes], events: [...events, ...finalized.events] };
}

async function priceObjects(ctx: OperationContext, lines: readonly LineDraft[]): Promise<Map<string, Record<string, unknown>>> {
  const ids = [...new Set(lines.flatMap((line) => (line.price === null ? [] : [line.price])))];
  const prices = await Promise.all(ids.map((id) => getPrice(ctx.reader, ctx.merchant_id, id)));
  return new Map(prices.map((price) => [price.id, renderPrice(price)]));
}

/**
 * The finalized invoice, the write that takes its number, and its events (and, when nothing is due,
 * its payment and the hooks' effects). The caller writes the invoice itself (insert or update).
 */
export async function finalizationOf(deps: BillingDeps, ctx: OperationContext, draft: Invoice): Promise<InvoiceWrites> {
  if (draft.lines.length === 0 && draft.billing_reason === 'manual') {
    throw new PayrailError('invoice_no_customer_line_items', { message: `Nothing to invoice for customer: this invoice has no lines.` });
  }
  const counter = await numberCounter(ctx.reader, ctx.merchant_id);
  const prefix = counter?.prefix ?? prefixFromBytes(randomBytes(INVOICE_PREFIX_LENGTH));
  const sequence = (counter?.last_sequence ?? 0) + 1;
  const invoice = Inv.finalize(draft, formatInvoiceNumber(prefix, sequence), ctx.now_s);
  const rendered = renderInvoice(invoice, deps.public_url());
  const events: EventDraft[] = [{ type: 'invoice.finalized', object: rendered }];
  const writes = [takeInvoiceNumber(ctx.merchant_id, prefix, sequence)];
  if (invoice.status === 'paid') {
    events.push({ type: 'invoice.paid', object: rendered }, { type: 'invoice.payment_succeeded', object: rendered });
    const effects = await runHooks(deps.invoice_hooks.paid, ctx, invoice);
    writes.push(...effects.writes);
    events.push(...effects.events);
  }
  return { invoice, writes, events };
}

/** How often a finalization that lost the race for its number is tried again, with the counter read afresh. */
export const NUMBER_RACE_RETRIES = 100;

/**
 * Runs `attempt` (which reads what it needs afresh each time, and commits) again when its commit lost
 * a race: another finalization took the number first (its row holds the number in the unique index
 * before the counter's guard is even reached, so that is how the loss usually shows), or the object
 * changed (`lock_timeout`, also what the pipeline makes of the unique violation under a key).
 */
export async function retryLostRace<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const lost = (error instanceof PayrailError && error.code === 'lock_timeout') || isNumberTaken(error);
      if (!lost || tries >= NUMBER_RACE_RETRIES) throw error;
    }
  }
}

function isNumberTaken(error: unknown): boolean {
  return isUniqueViolation(error) && (error as { constraint?: string }).constraint === 'invoices_by_number';
}

import { PayrailError } from '../../../kernel/errors.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { Invoice } from '../domain/invoice.js';
import type { InvoiceItem } from '../domain/invoice-item.js';
import type { Subscription } from '../domain/subscription.js';
import { currentPeriod } from '../domain/subscription.js';
import { prorations } from '../domain/subscription-items.js';
import { renderInvoiceItem } from '../adapters/invoice-render.js';
import { insertInvoiceItem } from '../adapters/invoice-store.js';
import type { BillingDeps } from './deps.js';
import { draftInvoiceWrites } from './invoice-drafts.js';
import type { PriceBook } from './subscription-prices.js';
import { itemAmount, itemLine } from './subscription-prices.js';

/**
 * What an item change mid-period bills, by `proration_behavior`: `create_prorations` writes pending
 * invoice items (the next invoice takes them), `always_invoice` a finalized `subscription_update`
 * invoice with them (and any other pending items), `none` nothing. The change's time is
 * `proration_date` when given (within the current period, as Stripe requires), else now.
 */
export interface ProrationInput {
  before: Subscription;
  after: Subscription;
  book: PriceBook;
  names: ReadonlyMap<string, string>;
  now_s: number;
  params: { proration_behavior?: 'create_prorations' | 'none' | 'always_invoice' | undefined; proration_date?: number | undefined };
  /** Make the invoice even when the change prorates nothing (a final invoice of pending items). */
  invoice_even_without_lines?: boolean;
}

export async function prorationWrites(
  deps: BillingDeps,
  ctx: OperationContext,
  input: ProrationInput,
): Promise<{ writes: SqlFragment[]; events: EventDraft[]; invoice: Invoice | null }> {
  const { before, after, book, names, params } = input;
  const behavior = params.proration_behavior ?? 'create_prorations';
  const period = currentPeriod(before);
  const at = params.proration_date ?? input.now_s;
  if (at < period.start || at > period.end) {
    throw new PayrailError('parameter_invalid', {
      param: 'proration_date',
      message: `The proration date must fall within the current period (${period.start} to ${period.end}).`,
    });
  }
  const lines = behavior === 'none' ? [] : prorations(before.items, after.items, (item) => itemAmount(book, item), period, at);
  const drafts = lines.map((line) => itemLine(book, names, line.item, line.period, line.amount, line.kind));
  if (behavior === 'always_invoice' || (input.invoice_even_without_lines === true && lines.length === 0)) {
    if (lines.length === 0 && input.invoice_even_without_lines !== true) return { writes: [], events: [], invoice: null };
    const invoice = await draftInvoiceWrites(deps, ctx, {
      customer: after.customer,
      currency: after.currency,
      subscription: after.id,
      billing_reason: 'subscription_update',
      collection_method: after.collection_method,
      days_until_due: after.days_until_due,
      period_start: at,
      period_end: at,
      lines: drafts,
      include_pending_items: true,
      auto_advance: true,
      default_payment_method: after.default_payment_method,
      finalize: true,
    });
    return { writes: invoice.writes, events: invoice.events, invoice: invoice.invoice };
  }
  if (lines.length === 0) return { writes: [], events: [], invoice: null };
  const items: InvoiceItem[] = drafts.map((draft) => ({
    id: ctx.ids.next('invoice_item'),
    merchant_id: ctx.merchant_id,
    customer: after.customer,
    currency: after.currency,
    amount: draft.amount,
    unit_amount: draft.amount,
    quantity: 1,
    description: draft.description,
    price: draft.price,
    period: draft.period,
    proration: true,
    invoice: null,
    subscription: after.id,
    subscription_item: draft.subscription_item,
    metadata: {},
    test_clock: after.test_clock,
    date: input.now_s,
    version: 1,
  }));
  return {
    writes: items.map(insertInvoiceItem),
    events: items.map((item) => ({ type: 'invoiceitem.created', object: renderInvoiceItem(item) })),
    invoice: null,
  };
}

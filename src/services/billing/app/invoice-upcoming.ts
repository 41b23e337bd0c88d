import { PayrailError } from '../../../kernel/errors.js';
import type { Invoice, InvoiceLine } from '../domain/invoice.js';
import * as Inv from '../domain/invoice.js';
import { lineOf } from '../domain/invoice-item.js';
import { renderInvoice } from '../adapters/invoice-render.js';
import { pendingItems } from '../adapters/invoice-store.js';
import type { BillingDeps } from './deps.js';
import { customerFacts } from './invoice-drafts.js';
import { linesPage } from './invoices.js';

/**
 * GET /v1/invoices/upcoming: what the customer's next invoice would be — the next period of their
 * subscription (from subscriptions' preview) and their pending invoice items — built in memory and
 * never stored, with no id, as Stripe answers it.
 */

type Json = Record<string, unknown>;

export interface UpcomingQuery {
  customer?: string | undefined;
  subscription?: string | undefined;
  currency?: string | undefined;
}

export async function upcomingInvoice(deps: BillingDeps, merchant_id: string, query: UpcomingQuery): Promise<Invoice> {
  if (query.customer === undefined) {
    throw new PayrailError('parameter_missing', { param: 'customer', message: 'Missing required param: customer.' });
  }
  const customer = await customerFacts(deps, merchant_id, query.customer);
  let preview = null;
  for (const source of deps.invoice_hooks.upcoming) {
    preview ??= await source(deps.reader, merchant_id, query.customer, query.subscription ?? null);
  }
  if (query.subscription !== undefined && !preview) {
    throw new PayrailError('invoice_upcoming_none', { message: `No upcoming invoices for subscription: ${query.subscription.slice(0, 64)}` });
  }
  const currency = preview?.currency ?? query.currency ?? (await pendingItems(deps.reader, merchant_id, query.customer))[0]?.currency;
  const pending = currency === undefined ? [] : (await pendingItems(deps.reader, merchant_id, query.customer)).filter((item) => item.currency === currency);
  if (currency === undefined || (!preview && pending.length === 0)) {
    throw new PayrailError('invoice_upcoming_none', { message: `No upcoming invoices for customer: ${query.customer.slice(0, 64)}` });
  }
  let counter = 0;
  const temporary = () => `il_tmp_${String(++counter).padStart(8, '0')}`;
  const subscription_lines: InvoiceLine[] = (preview?.lines ?? []).map((line) => ({
    id: temporary(),
    type: 'subscription',
    amount: line.amount,
    currency,
    description: line.description,
    invoice_item: null,
    price: line.price,
    price_object: null,
    quantity: line.quantity,
    period: line.period,
    proration: line.proration,
    subscription: preview?.subscription ?? null,
    subscription_item: line.subscription_item,
    metadata: {},
  }));
  const now_s = Math.floor(deps.clock.now_ms() / 1000);
  return {
    id: 'upcoming',
    merchant_id,
    customer: query.customer,
    currency,
    status: 'draft',
    number: null,
    auto_advance: true,
    collection_method: preview?.collection_method ?? 'charge_automatically',
    days_until_due: preview?.days_until_due ?? null,
    due_date: null,
    default_payment_method: preview?.default_payment_method ?? null,
    description: null,
    footer: null,
    metadata: {},
    subscription: preview?.subscription ?? null,
    billing_reason: 'upcoming',
    period_start: preview?.period_start ?? now_s,
    period_end: preview?.period_end ?? now_s,
    lines: [...pending.slice(0, Inv.INVOICE_LINES_MAX).map((item) => lineOf(item, temporary())), ...subscription_lines].slice(0, Inv.INVOICE_LINES_MAX),
    amount_paid: 0,
    attempt_count: 0,
    attempted: false,
    paid_out_of_band: false,
    payment_intent: null,
    charge: null,
    // The subscription's invoice is made (and first tried) when its current period ends.
    next_payment_attempt: preview?.period_end ?? null,
    status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    customer_email: customer.email,
    customer_name: customer.name,
    test_clock: customer.test_clock,
    page_secret: '',
    created: preview?.period_end ?? now_s,
    version: 1,
  };
}

/** The preview as Stripe renders it: an invoice object without an id. */
export function renderUpcoming(deps: BillingDeps, invoice: Invoice): Json {
  const { id: _id, ...rendered } = renderInvoice(invoice, deps.public_url());
  return { ...rendered, lines: { ...(rendered.lines as Json), url: `/v1/invoices/upcoming/lines?customer=${invoice.customer}` } };
}

export function upcomingLines(
  invoice: Invoice,
  page: { limit?: number | undefined; starting_after?: string | undefined; ending_before?: string | undefined },
): Json {
  return linesPage(invoice, page, `/v1/invoices/upcoming/lines?customer=${invoice.customer}`);
}

import type { Invoice, InvoiceLine } from '../domain/invoice.js';
import { amountDue, amountRemaining, subtotal } from '../domain/invoice.js';
import type { InvoiceItem } from '../domain/invoice-item.js';

/** Invoices, their lines and invoice items in Stripe's shape (API 2023-08-16): every field present, null where Payrail has no value. */

type Json = Record<string, unknown>;

/** The hosted page's address; the secret is in the query, as the PDF link's must be (a download cannot read a fragment). */
export function hostedInvoiceUrl(public_url: string, invoice: Pick<Invoice, 'id' | 'page_secret'>): string {
  return `${public_url}/invoices/${invoice.id}?s=${invoice.page_secret}`;
}

export function invoicePdfUrl(public_url: string, invoice: Pick<Invoice, 'id' | 'page_secret'>): string {
  return `${public_url}/invoices/${invoice.id}/pdf?s=${invoice.page_secret}`;
}

export function renderLine(line: InvoiceLine): Json {
  return {
    id: line.id,
    object: 'line_item',
    amount: line.amount,
    amount_excluding_tax: line.amount,
    currency: line.currency,
    description: line.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice_item: line.invoice_item ?? undefined,
    livemode: false,
    metadata: line.metadata,
    period: line.period,
    plan: null,
    price: line.price_object,
    proration: line.proration,
    proration_details: { credited_items: null },
    quantity: line.quantity,
    subscription: line.subscription,
    subscription_item: line.type === 'subscription' ? (line.subscription_item ?? undefined) : undefined,
    tax_amounts: [],
    tax_rates: [],
    type: line.type,
    unit_amount_excluding_tax: line.quantity ? String(line.amount / line.quantity) : null,
  };
}

export function renderLines(invoice: Invoice, lines: readonly InvoiceLine[], has_more: boolean, url: string): Json {
  return { object: 'list', data: lines.map(renderLine), has_more, total_count: invoice.lines.length, url };
}

/** The first page of lines rides on the invoice, as in Stripe's responses. */
const EMBEDDED_LINES = 10;

export function renderInvoice(invoice: Invoice, public_url: string): { id: string } & Json {
  const finalized = invoice.status !== 'draft';
  const total = subtotal(invoice);
  return {
    id: invoice.id,
    object: 'invoice',
    account_country: null,
    account_name: null,
    account_tax_ids: null,
    amount_due: amountDue(invoice),
    amount_paid: invoice.amount_paid,
    amount_remaining: amountRemaining(invoice),
    amount_shipping: 0,
    application: null,
    application_fee_amount: null,
    attempt_count: invoice.attempt_count,
    attempted: invoice.attempted,
    auto_advance: invoice.auto_advance,
    automatic_tax: { enabled: false, status: null },
    billing_reason: invoice.billing_reason,
    charge: invoice.charge,
    collection_method: invoice.collection_method,
    created: invoice.created,
    currency: invoice.currency,
    custom_fields: null,
    customer: invoice.customer,
    customer_address: null,
    customer_email: invoice.customer_email,
    customer_name: invoice.customer_name,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: invoice.default_payment_method,
    default_source: null,
    default_tax_rates: [],
    description: invoice.description,
    discount: null,
    discounts: [],
    due_date: invoice.due_date,
    effective_at: invoice.status_transitions.finalized_at,
    ending_balance: finalized ? 0 : null,
    footer: invoice.footer,
    from_invoice: null,
    hosted_invoice_url: finalized ? hostedInvoiceUrl(public_url, invoice) : null,
    invoice_pdf: finalized ? invoicePdfUrl(public_url, invoice) : null,
    last_finalization_error: null,
    latest_revision: null,
    lines: renderLines(invoice, invoice.lines.slice(0, EMBEDDED_LINES), invoice.lines.length > EMBEDDED_LINES, `/v1/invoices/${invoice.id}/lines`),
    livemode: false,
    metadata: invoice.metadata,
    next_payment_attempt: invoice.next_payment_attempt,
    number: invoice.number,
    on_behalf_of: null,
    paid: invoice.status === 'paid',
    paid_out_of_band: invoice.paid_out_of_band,
    payment_intent: invoice.payment_intent,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: invoice.period_end,
    period_start: invoice.period_start,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    quote: null,
    receipt_number: null,
    rendering_options: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: invoice.status,
    status_transitions: invoice.status_transitions,
    subscription: invoice.subscription,
    subscription_details: { metadata: null },
    subtotal: total,
    subtotal_excluding_tax: total,
    tax: null,
    test_clock: invoice.test_clock,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_tax_amounts: [],
    transfer_data: null,
    webhooks_delivered_at: null,
  };
}

export function renderInvoiceItem(item: InvoiceItem): { id: string } & Json {
  return {
    id: item.id,
    object: 'invoiceitem',
    amount: item.amount,
    currency: item.currency,
    customer: item.customer,
    date: item.date,
    description: item.description,
    discountable: true,
    discounts: [],
    invoice: item.invoice,
    livemode: false,
    metadata: item.metadata,
    period: item.period,
    plan: null,
    price: item.price_object ?? null,
    proration: item.proration,
    quantity: item.quantity,
    subscription: item.subscription,
    subscription_item: item.subscription_item ?? undefined,
    tax_rates: [],
    test_clock: item.test_clock,
    unit_amount: item.unit_amount,
    unit_amount_decimal: String(item.unit_amount),
  };
}

import { currencyInfo } from '../../../kernel/money.js';
import type { Invoice } from './invoice.js';
import { amountDue, amountRemaining, subtotal } from './invoice.js';

/**
 * What the hosted page and the PDF show of an invoice, as plain text: the same facts in both, and
 * nothing of the merchant's metadata. Pure: dates are formatted in UTC.
 */

export interface DocumentLine {
  description: string;
  period: string;
  quantity: string;
  amount: string;
}

export interface InvoiceDocument {
  title: string;
  number: string;
  status: string;
  issued: string;
  due: string | null;
  bill_to: string[];
  lines: DocumentLine[];
  subtotal: string;
  total: string;
  amount_paid: string;
  amount_due: string;
  amount_remaining: string;
  description: string | null;
  footer: string | null;
}

/** "$1,234.50"-like but currency-neutral and exact: integer minor units to "1,234.50 USD", never through a float. */
export function formatMoney(amount: number, currency: string): string {
  const exponent = currencyInfo(currency)?.exponent ?? 2;
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = exponent === 0 ? '' : `.${digits.slice(digits.length - exponent)}`;
  return `${sign}${whole}${fraction} ${currency.toUpperCase()}`;
}

export function formatDate(epoch_s: number): string {
  return new Date(epoch_s * 1000).toISOString().slice(0, 10);
}

const STATUS_LABELS: Record<Invoice['status'], string> = {
  draft: 'Draft',
  open: 'Open — payment due',
  paid: 'Paid',
  uncollectible: 'Uncollectible',
  void: 'Void',
};

export function invoiceDocument(invoice: Invoice): InvoiceDocument {
  const money = (amount: number) => formatMoney(amount, invoice.currency);
  return {
    title: invoice.status === 'paid' ? 'Receipt' : 'Invoice',
    number: invoice.number ?? 'Draft',
    status: STATUS_LABELS[invoice.status],
    issued: formatDate(invoice.status_transitions.finalized_at ?? invoice.created),
    due: invoice.due_date === null ? null : formatDate(invoice.due_date),
    bill_to: [invoice.customer_name, invoice.customer_email].filter((value): value is string => value !== null && value !== ''),
    lines: invoice.lines.map((line) => ({
      description: line.description ?? (line.type === 'subscription' ? 'Subscription' : 'Item'),
      period: line.period.start === line.period.end ? formatDate(line.period.start) : `${formatDate(line.period.start)} – ${formatDate(line.period.end)}`,
      quantity: line.quantity === null ? '' : String(line.quantity),
      amount: money(line.amount),
    })),
    subtotal: money(subtotal(invoice)),
    total: money(subtotal(invoice)),
    amount_paid: money(invoice.amount_paid),
    amount_due: money(amountDue(invoice)),
    amount_remaining: money(amountRemaining(invoice)),
    description: invoice.description,
    footer: invoice.footer,
  };
}

import { assert } from '../../../kernel/assert.js';
import { MAX_AMOUNT } from '../../../kernel/money.js';
import type { InvoiceLine, Period } from './invoice.js';

/**
 * Stripe's InvoiceItem: a charge (or, negative, a credit) for a customer, pending until an invoice
 * takes it (`invoice` set), then a line of that invoice. Pure.
 */
export interface InvoiceItem {
  id: string;
  merchant_id: string;
  customer: string;
  currency: string;
  amount: number;
  unit_amount: number;
  quantity: number;
  description: string | null;
  price: string | null;
  /** The catalog's Price object as it was when the item was made or changed. */
  price_object?: Record<string, unknown> | null;
  period: Period;
  proration: boolean;
  invoice: string | null;
  subscription: string | null;
  subscription_item: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  date: number;
  version: number;
}

/** Stripe's bound on an item's quantity, and on how many pending items one invoice takes. */
export const INVOICE_ITEM_QUANTITY_MAX = 1_000_000;
export const PENDING_ITEMS_PER_INVOICE_MAX = 250;

export function checkInvoiceItem(item: InvoiceItem): InvoiceItem {
  assert(Number.isSafeInteger(item.amount) && Math.abs(item.amount) <= MAX_AMOUNT, `invoice item ${item.id}: amount out of range`);
  assert(item.price !== null || item.amount === item.unit_amount * item.quantity, `invoice item ${item.id}: amount is not unit_amount × quantity`);
  assert(item.quantity >= 0 && item.quantity <= INVOICE_ITEM_QUANTITY_MAX, `invoice item ${item.id}: quantity out of range`);
  assert(item.period.start <= item.period.end, `invoice item ${item.id}: period ends before it starts`);
  assert(item.version >= 1, `invoice item ${item.id}: version`);
  return item;
}

/** The line an item becomes on an invoice. */
export function lineOf(item: InvoiceItem, line_id: string): InvoiceLine {
  return {
    id: line_id,
    type: 'invoiceitem',
    amount: item.amount,
    currency: item.currency,
    description: item.description,
    invoice_item: item.id,
    price: item.price,
    price_object: item.price_object ?? null,
    quantity: item.quantity,
    period: item.period,
    proration: item.proration,
    subscription: item.subscription,
    subscription_item: item.subscription_item,
    metadata: item.metadata,
  };
}

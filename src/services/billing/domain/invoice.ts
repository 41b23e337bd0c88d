import { assert } from '../../../kernel/assert.js';
import { PayrailError } from '../../../kernel/errors.js';
import { MAX_AMOUNT } from '../../../kernel/money.js';

/**
 * Stripe's Invoice (API 2023-08-16): a draft that can still change, then a numbered, immutable bill
 * that is open until it is paid, voided or marked uncollectible. Pure: no clock, ids or I/O.
 */

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
export type CollectionMethod = 'charge_automatically' | 'send_invoice';
export type BillingReason = 'subscription_create' | 'subscription_cycle' | 'subscription_update' | 'manual' | 'upcoming';

/** Stripe caps an invoice's lines; a bound also keeps the stored object small. */
export const INVOICE_LINES_MAX = 250;
/** An open, automatically collected invoice is first charged an hour after finalization, as in Stripe. */
export const FIRST_PAYMENT_DELAY_S = 60 * 60;
export const DAY_S = 24 * 60 * 60;

export interface Period {
  start: number;
  end: number;
}

export interface InvoiceLine {
  id: string;
  type: 'invoiceitem' | 'subscription';
  amount: number;
  currency: string;
  description: string | null;
  /** The pending invoice item this line came from (type invoiceitem). */
  invoice_item: string | null;
  price: string | null;
  /** The catalog's Price object as it was when the line was made (Stripe shows the whole object). */
  price_object: Record<string, unknown> | null;
  quantity: number | null;
  period: Period;
  proration: boolean;
  subscription: string | null;
  subscription_item: string | null;
  metadata: Record<string, string>;
}

/** A line a subscription asks for on its invoice (its amount already priced and prorated). */
export interface LineDraft {
  amount: number;
  description: string | null;
  price: string | null;
  quantity: number | null;
  period: Period;
  proration: boolean;
  subscription_item: string | null;
}

export interface StatusTransitions {
  finalized_at: number | null;
  paid_at: number | null;
  voided_at: number | null;
  marked_uncollectible_at: number | null;
}

export interface Invoice {
  id: string;
  merchant_id: string;
  customer: string;
  currency: string;
  status: InvoiceStatus;
  number: string | null;
  auto_advance: boolean;
  collection_method: CollectionMethod;
  days_until_due: number | null;
  due_date: number | null;
  default_payment_method: string | null;
  description: string | null;
  footer: string | null;
  metadata: Record<string, string>;
  subscription: string | null;
  billing_reason: BillingReason;
  period_start: number;
  period_end: number;
  lines: InvoiceLine[];
  amount_paid: number;
  attempt_count: number;
  attempted: boolean;
  paid_out_of_band: boolean;
  payment_intent: string | null;
  charge: string | null;
  next_payment_attempt: number | null;
  status_transitions: StatusTransitions;
  customer_email: string | null;
  customer_name: string | null;
  test_clock: string | null;
  /** The unguessable part of hosted_invoice_url and invoice_pdf. Never rendered on its own. */
  page_secret: string;
  created: number;
  version: number;
}

export function subtotal(invoice: Pick<Invoice, 'lines'>): number {
  return invoice.lines.reduce((sum, line) => sum + line.amount, 0);
}

/** No tax, discounts or customer balance in Payrail yet: what is due is the total, never below zero. */
export function amountDue(invoice: Pick<Invoice, 'lines'>): number {
  return Math.max(0, subtotal(invoice));
}

export function amountRemaining(invoice: Pick<Invoice, 'lines' | 'amount_paid' | 'status'>): number {
  if (invoice.status === 'paid') return 0;
  return amountDue(invoice) - invoice.amount_paid;
}

export function checkInvoice(invoice: Invoice): Invoice {
  assert(invoice.lines.length <= INVOICE_LINES_MAX, `invoice ${invoice.id}: too many lines`);
  assert(
    invoice.lines.every((line) => line.currency === invoice.currency && Number.isSafeInteger(line.amount)),
    `invoice ${invoice.id}: a line in another currency or not in minor units`,
  );
  assert(Math.abs(subtotal(invoice)) <= MAX_AMOUNT * INVOICE_LINES_MAX, `invoice ${invoice.id}: total out of range`);
  assert((invoice.status === 'draft') === (invoice.number === null), `invoice ${invoice.id}: a number exactly when finalized`);
  assert(invoice.amount_paid >= 0 && invoice.amount_paid <= amountDue(invoice), `invoice ${invoice.id}: paid beyond what is due`);
  assert(invoice.status !== 'paid' || invoice.status_transitions.paid_at !== null, `invoice ${invoice.id}: paid without paid_at`);
  assert(invoice.version >= 1, `invoice ${invoice.id}: version`);
  return invoice;
}

/** The transitions Stripe allows, by operation; everything else is refused with Stripe's wording. */
export type InvoiceAction = 'update' | 'delete' | 'finalize' | 'pay' | 'void' | 'mark_uncollectible';

const ALLOWED_FROM: Record<InvoiceAction, readonly InvoiceStatus[]> = {
  update: ['draft'],
  delete: ['draft'],
  finalize: ['draft'],
  pay: ['draft', 'open', 'uncollectible'],
  void: ['open', 'uncollectible'],
  mark_uncollectible: ['open'],
};

export function canDo(status: InvoiceStatus, action: InvoiceAction): boolean {
  return ALLOWED_FROM[action].includes(status);
}

export function requireAllowed(invoice: Pick<Invoice, 'id' | 'status'>, action: InvoiceAction): void {
  if (canDo(invoice.status, action)) return;
  if (action === 'update' || action === 'delete') {
    const verb = action === 'update' ? 'updated' : 'deleted';
    throw new PayrailError('invoice_not_editable', {
      message: `This invoice can no longer be ${verb}: it is \`${invoice.status}\`, and only draft invoices can be ${verb}.`,
    });
  }
  if (action === 'pay' && invoice.status === 'paid') throw new PayrailError('invoice_unexpected_state', { message: 'Invoice is already paid' });
  const messages: Record<Exclude<InvoiceAction, 'update' | 'delete'>, string> = {
    finalize: "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
    pay: `This invoice can no longer be paid: it is \`${invoice.status}\`.`,
    void: `You can only void an open or uncollectible invoice; this one is \`${invoice.status}\`.`,
    mark_uncollectible: `You can only mark an open invoice as uncollectible; this one is \`${invoice.status}\`.`,
  };
  throw new PayrailError('invoice_unexpected_state', { message: messages[action] });
}

/**
 * Draft → open, with its number. An invoice with nothing due is paid at once, as Stripe does; an
 * automatically collected one is due for its first attempt an hour later (auto_advance), a sent one by
 * its due date.
 */
export function finalize(invoice: Invoice, number: string, now_s: number): Invoice {
  requireAllowed(invoice, 'finalize');
  const due_date = invoice.collection_method === 'send_invoice' ? (invoice.due_date ?? now_s + (invoice.days_until_due ?? 0) * DAY_S) : invoice.due_date;
  const open: Invoice = {
    ...invoice,
    status: 'open',
    number,
    due_date,
    next_payment_attempt: invoice.collection_method === 'charge_automatically' && invoice.auto_advance ? now_s + FIRST_PAYMENT_DELAY_S : null,
    status_transitions: { ...invoice.status_transitions, finalized_at: now_s },
    version: invoice.version + 1,
  };
  return amountDue(open) === 0 ? markPaid(open, { charge: null, out_of_band: false }, now_s) : open;
}

export function markPaid(invoice: Invoice, payment: { charge: string | null; out_of_band: boolean }, now_s: number): Invoice {
  requireAllowed(invoice, 'pay');
  assert(invoice.status !== 'draft', `invoice ${invoice.id}: paid before it was finalized`);
  return {
    ...invoice,
    status: 'paid',
    amount_paid: amountDue(invoice),
    charge: payment.charge ?? invoice.charge,
    paid_out_of_band: payment.out_of_band,
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, paid_at: now_s },
    version: invoice.version + 1,
  };
}

/** A failed attempt: counted, the charge remembered, the next automatic attempt left to dunning. */
export function recordFailedAttempt(invoice: Invoice, attempt: { charge: string | null; next_payment_attempt: number | null }): Invoice {
  assert(invoice.status === 'open' || invoice.status === 'uncollectible', `invoice ${invoice.id}: an attempt on a ${invoice.status} invoice`);
  return {
    ...invoice,
    attempt_count: invoice.attempt_count + 1,
    attempted: true,
    charge: attempt.charge ?? invoice.charge,
    next_payment_attempt: attempt.next_payment_attempt,
    version: invoice.version + 1,
  };
}

/** The attempt that succeeded is counted too (Stripe's attempt_count includes it). */
export function recordSucceededAttempt(invoice: Invoice, charge: string | null, now_s: number): Invoice {
  const counted = { ...invoice, attempt_count: invoice.attempt_count + 1, attempted: true };
  return markPaid(counted, { charge, out_of_band: false }, now_s);
}

export function voidInvoice(invoice: Invoice, now_s: number): Invoice {
  requireAllowed(invoice, 'void');
  return {
    ...invoice,
    status: 'void',
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, voided_at: now_s },
    version: invoice.version + 1,
  };
}

export function markUncollectible(invoice: Invoice, now_s: number): Invoice {
  requireAllowed(invoice, 'mark_uncollectible');
  return {
    ...invoice,
    status: 'uncollectible',
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, marked_uncollectible_at: now_s },
    version: invoice.version + 1,
  };
}

export function withPaymentIntent(invoice: Invoice, payment_intent: string): Invoice {
  assert(invoice.payment_intent === null || invoice.payment_intent === payment_intent, `invoice ${invoice.id}: a second PaymentIntent`);
  return { ...invoice, payment_intent, version: invoice.version + 1 };
}

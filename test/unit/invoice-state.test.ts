import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayrailError } from '../../src/kernel/errors.js';
import type { Invoice, InvoiceAction, InvoiceStatus } from '../../src/services/billing/domain/invoice.js';
import * as Inv from '../../src/services/billing/domain/invoice.js';
import { formatInvoiceNumber, prefixFromBytes } from '../../src/services/billing/domain/invoice-number.js';
import { formatMoney, invoiceDocument } from '../../src/services/billing/domain/invoice-document.js';

const NOW = 1_764_000_000;

function draft(amounts: number[], changes: Partial<Invoice> = {}): Invoice {
  return {
    id: 'in_test',
    merchant_id: 'acct_1',
    customer: 'cus_1',
    currency: 'usd',
    status: 'draft',
    number: null,
    auto_advance: true,
    collection_method: 'charge_automatically',
    days_until_due: null,
    due_date: null,
    default_payment_method: null,
    description: null,
    footer: null,
    metadata: {},
    subscription: null,
    billing_reason: 'manual',
    period_start: NOW,
    period_end: NOW,
    lines: amounts.map((amount, i) => ({
      id: `il_${i}`,
      type: 'invoiceitem',
      amount,
      currency: 'usd',
      description: `Line ${i}`,
      invoice_item: `ii_${i}`,
      price: null,
      price_object: null,
      quantity: 1,
      period: { start: NOW, end: NOW },
      proration: false,
      subscription: null,
      subscription_item: null,
      metadata: {},
    })),
    amount_paid: 0,
    attempt_count: 0,
    attempted: false,
    paid_out_of_band: false,
    payment_intent: null,
    charge: null,
    next_payment_attempt: null,
    status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    customer_email: null,
    customer_name: null,
    test_clock: null,
    page_secret: 'secret',
    created: NOW,
    version: 1,
    ...changes,
  };
}

/** Applies an action as the use cases do; answers the invoice after it, or the error it refused with. */
function apply(invoice: Invoice, action: InvoiceAction | 'fail_attempt', now_s: number): Invoice | PayrailError {
  try {
    switch (action) {
      case 'finalize':
        return Inv.finalize(invoice, formatInvoiceNumber('ABCDEFGH', invoice.version), now_s);
      case 'pay':
        return Inv.recordSucceededAttempt(invoice.status === 'draft' ? Inv.finalize(invoice, 'ABCDEFGH-0001', now_s) : invoice, 'ch_1', now_s);
      case 'fail_attempt':
        Inv.requireAllowed(invoice, 'pay');
        if (invoice.status === 'draft') return new PayrailError('invoice_unexpected_state');
        return Inv.recordFailedAttempt(invoice, { charge: 'ch_2', next_payment_attempt: null });
      case 'void':
        return Inv.voidInvoice(invoice, now_s);
      case 'mark_uncollectible':
        return Inv.markUncollectible(invoice, now_s);
      case 'update':
      case 'delete':
        Inv.requireAllowed(invoice, action);
        return { ...invoice, version: invoice.version + 1 };
    }
  } catch (error) {
    if (error instanceof PayrailError) return error;
    throw error;
  }
}

const ACTIONS: (InvoiceAction | 'fail_attempt')[] = ['update', 'delete', 'finalize', 'pay', 'fail_attempt', 'void', 'mark_uncollectible'];

/** Stripe's transitions: which status each allowed action leads to (null: refused). */
const EXPECTED: Record<InvoiceStatus, Partial<Record<InvoiceAction | 'fail_attempt', InvoiceStatus>>> = {
  draft: { update: 'draft', delete: 'draft', finalize: 'open', pay: 'paid' },
  open: { pay: 'paid', fail_attempt: 'open', void: 'void', mark_uncollectible: 'uncollectible' },
  uncollectible: { pay: 'paid', fail_attempt: 'uncollectible', void: 'void' },
  paid: {},
  void: {},
};

describe('invoice state machine', () => {
  it('follows exactly the transitions Stripe allows, from any reachable state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...ACTIONS), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 5 }),
        (actions, amounts) => {
          let invoice = draft(amounts);
          let now = NOW;
          for (const action of actions) {
            now += 60;
            const expected = EXPECTED[invoice.status][action];
            const result = apply(invoice, action, now);
            if (expected === undefined) {
              expect(result).toBeInstanceOf(PayrailError);
              continue;
            }
            expect(result).not.toBeInstanceOf(PayrailError);
            const next = Inv.checkInvoice(result as Invoice);
            expect(next.status).toBe(expected);
            expect(next.version).toBeGreaterThan(invoice.version);
            invoice = next;
          }
          // Invariants of whatever state it ended in.
          expect(invoice.number === null).toBe(invoice.status === 'draft');
          if (invoice.status === 'paid') expect(invoice.amount_paid).toBe(Inv.amountDue(invoice));
          if (invoice.status !== 'paid') expect(invoice.amount_paid).toBe(0);
          expect(Inv.amountRemaining(invoice)).toBe(invoice.status === 'paid' ? 0 : Inv.amountDue(invoice));
        },
      ),
    );
  });

  it('terminal states refuse every change', () => {
    for (const status of ['paid', 'void'] as const) {
      for (const action of ['update', 'delete', 'finalize', 'pay', 'void', 'mark_uncollectible'] as const) expect(Inv.canDo(status, action)).toBe(false);
    }
  });

  it('finalizing something with nothing due pays it at once; a negative total is nothing due', () => {
    const finalized = Inv.finalize(draft([500, -800]), 'ABCDEFGH-0001', NOW);
    expect(finalized).toMatchObject({ status: 'paid', amount_paid: 0 });
    expect(Inv.amountDue(finalized)).toBe(0);
    expect(Inv.subtotal(finalized)).toBe(-300);
  });

  it('a sent invoice is due days_until_due after finalization; an automatic one is attempted an hour later', () => {
    const sent = Inv.finalize(draft([100], { collection_method: 'send_invoice', days_until_due: 30, auto_advance: true }), 'X1234567-0002', NOW);
    expect(sent).toMatchObject({ due_date: NOW + 30 * 86_400, next_payment_attempt: null });
    const automatic = Inv.finalize(draft([100]), 'X1234567-0003', NOW);
    expect(automatic).toMatchObject({ due_date: null, next_payment_attempt: NOW + 3600 });
    expect(Inv.finalize(draft([100], { auto_advance: false }), 'X1234567-0004', NOW).next_payment_attempt).toBeNull();
  });
});

describe('invoice numbers and documents', () => {
  it('formats numbers as Stripe does, padded to four digits and growing past them', () => {
    expect(formatInvoiceNumber('A1B2C3D4', 1)).toBe('A1B2C3D4-0001');
    expect(formatInvoiceNumber('A1B2C3D4', 12_345)).toBe('A1B2C3D4-12345');
    expect(() => formatInvoiceNumber('a1', 1)).toThrow();
    expect(() => formatInvoiceNumber('A1B2C3D4', 0)).toThrow();
  });

  it('makes prefixes of capitals and digits from random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes) => {
        expect(prefixFromBytes(bytes)).toMatch(/^[0-9A-Z]{8}$/);
      }),
    );
  });

  it('formats money exactly from minor units, by the currency’s exponent', () => {
    expect(formatMoney(123_456, 'usd')).toBe('1,234.56 USD');
    expect(formatMoney(5, 'usd')).toBe('0.05 USD');
    expect(formatMoney(-250, 'eur')).toBe('-2.50 EUR');
    expect(formatMoney(1500, 'jpy')).toBe('1,500 JPY');
    expect(formatMoney(1_234, 'kwd')).toBe('1.234 KWD');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), (amount) => {
        expect(Number(formatMoney(amount, 'usd').replace(/[^\d]/g, ''))).toBe(amount);
      }),
    );
  });

  it('documents every line and the totals', () => {
    const document = invoiceDocument(Inv.finalize(draft([1000, 250], { customer_name: 'Ada', customer_email: 'ada@example.com' }), 'ABCDEFGH-0007', NOW));
    expect(document).toMatchObject({
      title: 'Invoice',
      number: 'ABCDEFGH-0007',
      total: '12.50 USD',
      amount_due: '12.50 USD',
      bill_to: ['Ada', 'ada@example.com'],
    });
    expect(document.lines.map((line) => line.amount)).toEqual(['10.00 USD', '2.50 USD']);
  });
});

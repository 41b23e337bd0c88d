import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

/** A customer whose invoice default is a saved card (`pm_card_visa` unless another test card is named). */
async function customerWithCard(card = 'pm_card_visa'): Promise<{ customer: Stripe.Customer; method: string }> {
  const customer = await t.stripe.customers.create({ email: 'ada@example.com', name: 'Ada Lovelace' });
  const method = await t.stripe.paymentMethods.attach(card, { customer: customer.id });
  const updated = await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
  return { customer: updated, method: method.id };
}

async function draftWithItems(customer: string, amounts: number[] = [1500, 250]): Promise<Stripe.Invoice> {
  for (const [index, amount] of amounts.entries()) {
    await t.stripe.invoiceItems.create({ customer, amount, currency: 'usd', description: `Item ${index + 1}` });
  }
  return t.stripe.invoices.create({ customer, pending_invoice_items_behavior: 'include' });
}

async function eventsFor(id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((event) => (event.data.object as { id?: string }).id === id)
    .map((event) => event.type)
    .reverse();
}

async function countRows(sql: string, values: unknown[]): Promise<number> {
  return Number((await t.owner.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
}

describe('invoices: drafts and items', () => {
  it('creates a draft that takes the pending items as lines, in Stripe’s shape', async () => {
    const { customer } = await customerWithCard();
    const invoice = await draftWithItems(customer.id);
    expect(invoice).toMatchObject({
      object: 'invoice',
      status: 'draft',
      customer: customer.id,
      currency: 'usd',
      number: null,
      subtotal: 1750,
      total: 1750,
      amount_due: 1750,
      amount_paid: 0,
      amount_remaining: 1750,
      billing_reason: 'manual',
      collection_method: 'charge_automatically',
      hosted_invoice_url: null,
      invoice_pdf: null,
      customer_email: 'ada@example.com',
      customer_name: 'Ada Lovelace',
    });
    expect(invoice.id).toMatch(/^in_/);
    expect(invoice.lines.data.map((line) => [line.description, line.amount, line.type])).toEqual(
      expect.arrayContaining([
        ['Item 1', 1500, 'invoiceitem'],
        ['Item 2', 250, 'invoiceitem'],
      ]),
    );
    expect(stripeSchemaProblems('invoice', invoice)).toEqual([]);
    expect(stripeSchemaProblems('line_item', invoice.lines.data[0])).toEqual([]);
    expect(await t.stripe.invoices.retrieve(invoice.id)).toEqual(invoice);
    const items = await t.stripe.invoiceItems.list({ customer: customer.id });
    expect(items.data.every((item) => item.invoice === invoice.id)).toBe(true);
    expect(stripeSchemaProblems('invoiceitem', items.data[0])).toEqual([]);
    expect(await eventsFor(invoice.id)).toEqual(['invoice.created']);
  });

  it('excludes pending items by default, and an item added to the draft becomes its line', async () => {
    const { customer } = await customerWithCard();
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 700, currency: 'usd' });
    const invoice = await t.stripe.invoices.create({ customer: customer.id });
    expect(invoice.lines.data).toEqual([]);
    const item = await t.stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id, unit_amount: 300, quantity: 3, description: 'Seats' });
    expect(item).toMatchObject({ amount: 900, quantity: 3, unit_amount: 300, invoice: invoice.id });
    const updated = await t.stripe.invoices.retrieve(invoice.id);
    expect(updated.lines.data.map((line) => [line.description, line.amount, line.quantity])).toEqual([['Seats', 900, 3]]);
    await t.stripe.invoiceItems.update(item.id, { quantity: 4 });
    expect((await t.stripe.invoices.retrieve(invoice.id)).total).toBe(1200);
    await t.stripe.invoiceItems.del(item.id);
    expect((await t.stripe.invoices.retrieve(invoice.id)).lines.data).toEqual([]);
    const pending = await t.stripe.invoiceItems.list({ customer: customer.id, pending: true });
    expect(pending.data.map((pending_item) => pending_item.amount)).toEqual([700]);
  });

  it('updates a draft’s fields and deletes a draft, which frees its items', async () => {
    const { customer } = await customerWithCard();
    const invoice = await draftWithItems(customer.id, [400]);
    const updated = await t.stripe.invoices.update(invoice.id, { description: 'March', metadata: { order: '7' }, auto_advance: false });
    expect(updated).toMatchObject({ description: 'March', metadata: { order: '7' }, auto_advance: false });
    const deleted = await t.stripe.invoices.del(invoice.id);
    expect(deleted).toEqual({ id: invoice.id, object: 'invoice', deleted: true });
    expect((await rejection(t.stripe.invoices.retrieve(invoice.id))).statusCode).toBe(404);
    const items = await t.stripe.invoiceItems.list({ customer: customer.id, pending: true });
    expect(items.data.map((item) => item.amount)).toEqual([400]);
    expect(await eventsFor(invoice.id)).toEqual(['invoice.created', 'invoice.updated', 'invoice.deleted']);
  });
});

describe('invoices: lifecycle', () => {
  it('finalizes with the next gapless number, a hosted page and a PDF', async () => {
    const { customer } = await customerWithCard();
    const first = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [1000])).id);
    const second = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [2000])).id);
    expect(first.status).toBe('open');
    expect(first.number).toMatch(/^[0-9A-Z]{8}-\d{4,}$/);
    const [prefix, sequence] = first.number!.split('-') as [string, string];
    expect(second.number).toBe(`${prefix}-${String(Number(sequence) + 1).padStart(4, '0')}`);
    expect(first.status_transitions.finalized_at).toBeGreaterThan(0);
    expect(first.next_payment_attempt).toBe(first.status_transitions.finalized_at! + 3600);
    expect(first.hosted_invoice_url).toMatch(new RegExp(`^${t.url}/invoices/${first.id}\\?s=[A-Za-z0-9_-]{20,}$`));
    expect(stripeSchemaProblems('invoice', first)).toEqual([]);
    const page = await fetch(first.hosted_invoice_url!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain(first.number!);
    expect(html).toContain('10.00 USD');
    const pdf = await fetch(first.invoice_pdf!);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
    const forged = await fetch(`${t.url}/invoices/${first.id}?s=wrong-secret-000000000000`);
    expect(forged.status).toBe(404);
    expect(await eventsFor(first.id)).toEqual(['invoice.created', 'invoice.finalized']);
  });

  it('pays an open invoice off session with the customer’s default card: a PaymentIntent naming the invoice', async () => {
    const { customer, method } = await customerWithCard();
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [2500])).id);
    const paid = await t.stripe.invoices.pay(open.id);
    expect(paid).toMatchObject({ status: 'paid', paid: true, amount_paid: 2500, amount_remaining: 0, attempt_count: 1, attempted: true });
    expect(paid.status_transitions.paid_at).toBeGreaterThan(0);
    const intent = await t.stripe.paymentIntents.retrieve(paid.payment_intent as string);
    expect(intent).toMatchObject({ status: 'succeeded', amount: 2500, currency: 'usd', customer: customer.id, invoice: paid.id, payment_method: method });
    expect(paid.charge).toBe(intent.latest_charge);
    expect(await eventsFor(paid.id)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);
    expect((await rejection(t.stripe.invoices.pay(paid.id))).message).toBe('Invoice is already paid');
  });

  it('pays a draft (finalizing it) with a card given to pay', async () => {
    const { customer } = await customerWithCard();
    const other = await t.stripe.paymentMethods.attach('pm_card_mastercard', { customer: customer.id });
    const draft = await draftWithItems(customer.id, [900]);
    const paid = await t.stripe.invoices.pay(draft.id, { payment_method: other.id });
    expect(paid.status).toBe('paid');
    expect(paid.number).not.toBeNull();
    expect((await t.stripe.paymentIntents.retrieve(paid.payment_intent as string)).payment_method).toBe(other.id);
  });

  it('records a declined attempt (invoice.payment_failed), then a later attempt pays the same PaymentIntent', async () => {
    const { customer } = await customerWithCard('pm_card_chargeDeclined');
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [1200])).id);
    const declined = await rejection(t.stripe.invoices.pay(open.id));
    expect(declined).toMatchObject({ type: 'StripeCardError', code: 'card_declined', statusCode: 402 });
    const failed = await t.stripe.invoices.retrieve(open.id);
    expect(failed).toMatchObject({ status: 'open', attempt_count: 1, attempted: true, amount_paid: 0 });
    const good = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const paid = await t.stripe.invoices.pay(open.id, { payment_method: good.id });
    expect(paid).toMatchObject({ status: 'paid', attempt_count: 2, payment_intent: failed.payment_intent });
    expect(await eventsFor(open.id)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.payment_failed', 'invoice.paid', 'invoice.payment_succeeded']);
  });

  it('voids, marks uncollectible and pays out of band as Stripe allows', async () => {
    const { customer } = await customerWithCard();
    const a = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [100])).id);
    const voided = await t.stripe.invoices.voidInvoice(a.id);
    expect(voided).toMatchObject({ status: 'void' });
    expect(voided.status_transitions.voided_at).toBeGreaterThan(0);
    expect((await rejection(t.stripe.invoices.finalizeInvoice(a.id))).code).toBe('invoice_unexpected_state');
    expect((await rejection(t.stripe.invoices.pay(a.id))).code).toBe('invoice_unexpected_state');
    const b = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [100])).id);
    const uncollectible = await t.stripe.invoices.markUncollectible(b.id);
    expect(uncollectible.status).toBe('uncollectible');
    const out_of_band = await t.stripe.invoices.pay(b.id, { paid_out_of_band: true });
    expect(out_of_band).toMatchObject({ status: 'paid', paid_out_of_band: true, payment_intent: null });
    expect(await eventsFor(b.id)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.marked_uncollectible', 'invoice.paid']);
    expect((await rejection(t.stripe.invoices.voidInvoice(b.id))).code).toBe('invoice_unexpected_state');
  });

  it('voiding an invoice whose payment failed cancels its PaymentIntent (void_invoice)', async () => {
    const { customer } = await customerWithCard('pm_card_chargeDeclined');
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [1300])).id);
    await rejection(t.stripe.invoices.pay(open.id));
    const voided = await t.stripe.invoices.voidInvoice(open.id);
    expect(voided.status).toBe('void');
    const intent = await t.stripe.paymentIntents.retrieve(voided.payment_intent as string);
    expect(intent).toMatchObject({ status: 'canceled', cancellation_reason: 'void_invoice' });
  });

  it('a finalized invoice with nothing due is paid at once', async () => {
    const { customer } = await customerWithCard();
    const draft = await draftWithItems(customer.id, [500, -500]);
    const finalized = await t.stripe.invoices.finalizeInvoice(draft.id);
    expect(finalized).toMatchObject({ status: 'paid', amount_due: 0, total: 0, payment_intent: null });
  });

  it('lists with filters and pages lines', async () => {
    const { customer } = await customerWithCard();
    const draft = await draftWithItems(customer.id, [1, 2, 3]);
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [5])).id);
    const drafts = await t.stripe.invoices.list({ customer: customer.id, status: 'draft' });
    expect(drafts.data.map((invoice) => invoice.id)).toEqual([draft.id]);
    const all = await t.stripe.invoices.list({ customer: customer.id });
    expect(all.data.map((invoice) => invoice.id)).toEqual([open.id, draft.id]);
    const first = await t.stripe.invoices.listLineItems(draft.id, { limit: 2 });
    expect(first.has_more).toBe(true);
    const rest = await t.stripe.invoices.listLineItems(draft.id, { starting_after: first.data[1]!.id });
    expect([...first.data, ...rest.data].map((line) => line.amount).sort()).toEqual([1, 2, 3]);
  });

  it('previews the upcoming invoice from pending items without storing anything', async () => {
    const { customer } = await customerWithCard();
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 4200, currency: 'usd', description: 'Consulting' });
    const before = await countRows('SELECT count(*) AS n FROM billing.invoices WHERE customer_id = $1', [customer.id]);
    const upcoming = await t.stripe.invoices.retrieveUpcoming({ customer: customer.id });
    expect(upcoming).toMatchObject({ object: 'invoice', status: 'draft', amount_due: 4200, billing_reason: 'upcoming' });
    expect((upcoming as { id?: string }).id).toBeUndefined();
    expect(await countRows('SELECT count(*) AS n FROM billing.invoices WHERE customer_id = $1', [customer.id])).toBe(before);
    const { customer: empty } = await customerWithCard();
    expect((await rejection(t.stripe.invoices.retrieveUpcoming({ customer: empty.id }))).code).toBe('invoice_upcoming_none');
  });
});

/** Waits until the ledger has consumed every committed event. */
async function ledgerCaughtUp(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) {
    if (Date.now() > deadline) throw new Error('the ledger did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('invoices: money', () => {
  it('an invoice payment posts as its charge, and a refund of it posts back; the ledger verifies', async () => {
    const merchant = await t.newMerchant();
    const customer = await merchant.stripe.customers.create({ email: 'ledger@example.com' });
    const method = await merchant.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await merchant.stripe.invoiceItems.create({ customer: customer.id, amount: 1000, currency: 'usd' });
    const draft = await merchant.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
      default_payment_method: method.id,
    });
    const paid = await merchant.stripe.invoices.pay(draft.id);
    await ledgerCaughtUp();
    const balance = await merchant.stripe.balance.retrieve();
    expect(balance.pending[0]?.amount).toBe(1000 - 59); // 2.9% + 30, as every charge
    const of_charge = await merchant.stripe.balanceTransactions.list({ source: paid.charge as string });
    expect(of_charge.data.map((txn) => [txn.type, txn.amount, txn.fee])).toEqual([['charge', 1000, 59]]);
    await merchant.stripe.refunds.create({ payment_intent: paid.payment_intent as string, amount: 400 });
    await ledgerCaughtUp();
    const after = await merchant.stripe.balance.retrieve();
    expect((after.pending[0]?.amount ?? 0) + (after.available[0]?.amount ?? 0)).toBe(1000 - 59 - 400);
    const refunds = await merchant.stripe.balanceTransactions.list({ type: 'refund' });
    expect(refunds.data.map((txn) => txn.amount)).toEqual([-400]);
    const report = await verifyLedger(t.platform.database.pool, Math.floor(Date.now() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
  });

  it('payments racing on one invoice charge it once', async () => {
    const { customer } = await customerWithCard();
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [3100])).id);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => t.stripe.invoices.pay(open.id)));
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true);
    for (const result of results) {
      // A loser is told the invoice is paid, or that the same attempt is in flight (409): never charged again.
      if (result.status === 'rejected') expect([400, 409]).toContain((result.reason as { statusCode?: number }).statusCode);
    }
    const paid = await t.stripe.invoices.retrieve(open.id);
    expect(paid).toMatchObject({ status: 'paid', attempt_count: 1 });
    const charges = await t.stripe.charges.list({ payment_intent: paid.payment_intent as string });
    expect(charges.data.map((charge) => charge.status)).toEqual(['succeeded']);
    expect(await eventsFor(open.id)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);
  });

  it('concurrent finalizations take consecutive numbers, none twice and none skipped', async () => {
    const merchant = await t.newMerchant();
    const customer = await merchant.stripe.customers.create({ email: 'race@example.com' });
    const drafts = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const draft = await merchant.stripe.invoices.create({ customer: customer.id });
        await merchant.stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, amount: 100 + i, currency: 'usd' });
        return draft.id;
      }),
    );
    const finalized = await Promise.all(drafts.map((id) => merchant.stripe.invoices.finalizeInvoice(id)));
    const numbers = finalized.map((invoice) => invoice.number!);
    const prefixes = new Set(numbers.map((number) => number.split('-')[0]));
    expect(prefixes.size).toBe(1);
    expect(numbers.map((number) => Number(number.split('-')[1])).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});

describe('invoices: bad input, nothing stored', () => {
  it('refuses to pay a draft when nobody can pay it, and leaves it a draft', async () => {
    const customer = await t.stripe.customers.create({ email: 'nocard@example.com' });
    const draft = await draftWithItems(customer.id, [800]);
    const error = await rejection(t.stripe.invoices.pay(draft.id));
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'payment_method' });
    expect(await t.stripe.invoices.retrieve(draft.id)).toMatchObject({ status: 'draft', number: null, payment_intent: null });
  });

  it('refuses a currency that differs from the customer’s other pending items', async () => {
    const { customer } = await customerWithCard();
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 100, currency: 'usd' });
    const error = await rejection(t.stripe.invoiceItems.create({ customer: customer.id, amount: 100, currency: 'eur' }));
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'currency' });
    expect(await countRows('SELECT count(*) AS n FROM billing.invoice_items WHERE customer_id = $1', [customer.id])).toBe(1);
  });

  it('refuses negative quantities, unknown customers, unsupported parameters and edits of finalized invoices', async () => {
    const { customer } = await customerWithCard();
    const negative = await rejection(t.stripe.invoiceItems.create({ customer: customer.id, unit_amount: 100, quantity: -1, currency: 'usd' }));
    expect(negative).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'quantity' });
    const unknown = await rejection(t.stripe.invoices.create({ customer: 'cus_nope' }));
    expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'customer' });
    const tax = await rejection(t.stripe.invoices.create({ customer: customer.id, default_tax_rates: ['txr_1'] }));
    expect(tax).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'default_tax_rates' });
    const days = await rejection(t.stripe.invoices.create({ customer: customer.id, days_until_due: 30 }));
    expect(days).toMatchObject({ statusCode: 400, param: 'days_until_due' });
    const subscription = await rejection(t.stripe.invoices.create({ customer: customer.id, subscription: 'sub_123' }));
    expect(subscription).toMatchObject({ statusCode: 400, param: 'subscription' });
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id, [300])).id);
    expect((await rejection(t.stripe.invoices.update(open.id, { description: 'late' }))).code).toBe('invoice_not_editable');
    expect((await rejection(t.stripe.invoices.del(open.id))).code).toBe('invoice_not_editable');
    const item = (await t.stripe.invoiceItems.list({ invoice: open.id })).data[0]!;
    expect((await rejection(t.stripe.invoiceItems.update(item.id, { amount: 1 }))).code).toBe('invoice_not_editable');
    expect(await countRows('SELECT count(*) AS n FROM billing.invoices WHERE customer_id = $1', [customer.id])).toBe(1);
    expect(await t.stripe.invoices.retrieve(open.id)).toEqual(open);
  });
});

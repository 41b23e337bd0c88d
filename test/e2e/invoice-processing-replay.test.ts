import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, AuthorizeResult } from '../../src/services/connectors/index.js';
import { ProcessorOutcomeUnknown } from '../../src/services/connectors/index.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

/**
 * An invoice attempt whose processor answer never came: its key stores `processing`, and the payments
 * sweeper later fails the attempt (the processor never heard of it). Paying the invoice again replays
 * that key's `processing`; the invoice must still learn how the attempt ended, count it as failed, and
 * take the next attempt, instead of waiting on a replay forever.
 */
class LosingConnector extends SandboxWrapper {
  readonly name = 'losing-sandbox';
  /** Authorizations to lose before they reach the processor: the answer is unknown to the caller. */
  lose_next = 0;

  override authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    if (this.lose_next > 0) {
      this.lose_next -= 1;
      return Promise.reject(new ProcessorOutcomeUnknown('no answer from the processor (test)'));
    }
    return this.sandbox.authorize(request);
  }
}

/** The sweeper fails a never-sent attempt after its 30 s resend window, and sweeps every second. */
const SWEEP_WAIT_MS = 60_000;

let t: TestPlatform;
const connector = new LosingConnector();

beforeAll(async () => {
  t = await startTestPlatform({}, { connector });
  connector.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function pay(id: string): Promise<{ status: number; body: { status?: string; attempt_count?: number; error?: { code?: string } } }> {
  const response = await fetch(`${t.url}/v1/invoices/${id}/pay`, { method: 'POST', headers: { authorization: `Bearer ${t.secret_key}` } });
  return { status: response.status, body: (await response.json()) as { status?: string } };
}

async function intentStatus(db: pg.Pool, invoice_id: string): Promise<string | undefined> {
  const found = await db.query<{ status: string }>(
    `SELECT p.status FROM payments.payment_intents p JOIN billing.invoices i ON i.state->>'payment_intent' = p.id WHERE i.id = $1`,
    [invoice_id],
  );
  return found.rows[0]?.status;
}

describe('an invoice attempt answered processing, then failed by the sweeper', () => {
  it('is counted failed on the next pay, and the attempt after it pays the invoice once', { timeout: 120_000 }, async () => {
    const customer = await t.stripe.customers.create({ email: 'replay@example.com' });
    const method = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 2_500, currency: 'usd' });
    const draft = await t.stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    const invoice = await t.stripe.invoices.finalizeInvoice(draft.id);

    connector.lose_next = 1;
    const lost = await pay(invoice.id);
    expect([lost.status, lost.body.status]).toEqual([200, 'open']);
    expect(await intentStatus(t.owner, invoice.id)).toBe('processing');

    const deadline = Date.now() + SWEEP_WAIT_MS;
    while ((await intentStatus(t.owner, invoice.id)) === 'processing' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await intentStatus(t.owner, invoice.id)).toBe('requires_payment_method');

    // The first attempt's key replays `processing`; the invoice still learns that attempt failed.
    const counted = await pay(invoice.id);
    expect([counted.status, counted.body.error?.code]).toEqual([402, 'processing_error']);
    expect((await t.stripe.invoices.retrieve(invoice.id)).attempt_count).toBe(1);

    const paid = await pay(invoice.id);
    expect([paid.status, paid.body.status, paid.body.attempt_count]).toEqual([200, 'paid', 2]);
    const charges = await t.owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments.charges c JOIN billing.invoices i ON i.state->>'payment_intent' = c.payment_intent_id
        WHERE i.id = $1 AND c.status = 'succeeded'`,
      [invoice.id],
    );
    expect(charges.rows[0]?.n).toBe(1);
  });
});

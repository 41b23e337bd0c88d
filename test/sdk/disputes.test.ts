import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { createApiKey } from '../../src/services/merchants/index.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import { disputeLedgerRecords } from '../../src/services/disputes/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Disputes through the official SDK: Stripe's dispute test cards open a dispute after capture (the
 * sandbox processor's notification, taken by the scheduled job), the ledger withdraws amount and fee,
 * test-mode evidence decides the outcome shortly after, and a won dispute returns both.
 */
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const WAIT_LIMIT_MS = 20_000;
const FEE = 1500;

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ledgerCaughtUp(): Promise<void> {
  await until(
    () => consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0),
    (lag) => lag.events_behind === 0,
    'the ledger',
  );
}

/** Pays with a dispute card and waits for the processor's dispute to open. */
async function disputedPayment(
  payment_method: string,
  amount = 2000,
  stripe: Stripe = t.stripe,
): Promise<{ intent: Stripe.PaymentIntent; dispute: Stripe.Dispute }> {
  const intent = await stripe.paymentIntents.create({ amount, currency: 'usd', payment_method, confirm: true });
  expect(intent.status).toBe('succeeded');
  const listed = await until(
    () => stripe.disputes.list({ payment_intent: intent.id }),
    (list) => list.data.length > 0,
    `a dispute on ${intent.id}`,
  );
  expect(listed.data).toHaveLength(1);
  return { intent, dispute: listed.data[0]! };
}

async function balance(stripe: Stripe = t.stripe): Promise<{ available: number; pending: number }> {
  await ledgerCaughtUp();
  const b = await stripe.balance.retrieve();
  return { available: b.available[0]?.amount ?? NaN, pending: b.pending[0]?.amount ?? NaN };
}

async function eventTypes(dispute_id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ type: 'charge.dispute.*', limit: 100 });
  return events.data
    .filter((event) => (event.data.object as { id?: string }).id === dispute_id)
    .map((event) => event.type)
    .reverse();
}

describe('dispute test cards', () => {
  it('4000000000000259 (pm_card_createDispute) is disputed as fraudulent: amount and the $15 fee leave the balance', async () => {
    const other = await t.newMerchant();
    const { intent, dispute } = await disputedPayment('pm_card_createDispute', 2000, other.stripe);
    expect(stripeSchemaProblems('dispute', dispute)).toEqual([]);
    expect(dispute).toMatchObject({
      object: 'dispute',
      amount: 2000,
      currency: 'usd',
      charge: chargeIdOf(intent),
      payment_intent: intent.id,
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      evidence_details: { has_evidence: false, past_due: false, submission_count: 0 },
    });
    expect(dispute.id).toMatch(/^dp_/);
    expect(dispute.evidence_details.due_by).toBeGreaterThan(dispute.created);
    expect(dispute.balance_transactions).toHaveLength(1);
    const withdrawal = dispute.balance_transactions[0]!;
    expect(withdrawal).toMatchObject({
      type: 'adjustment',
      reporting_category: 'dispute',
      amount: -2000,
      fee: FEE,
      net: -3500,
      source: dispute.id,
      status: 'available',
    });
    expect(withdrawal.fee_details).toEqual([{ amount: FEE, application: null, currency: 'usd', description: 'Dispute fee', type: 'stripe_fee' }]);
    const charge = await other.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.disputed).toBe(true);
    // The capture is pending (2000 − 88 fee); the dispute took 3500 from available, which goes negative as on Stripe.
    expect(await balance(other.stripe)).toEqual({ available: -3500, pending: 1912 });
    expect(await other.stripe.balanceTransactions.retrieve(withdrawal.id)).toEqual(withdrawal);
    // The customer has the money back already: a refund too would pay them twice (Stripe's charge_disputed).
    await expect(other.stripe.refunds.create({ payment_intent: intent.id, amount: 100 })).rejects.toMatchObject({
      statusCode: 400,
      code: 'charge_disputed',
      message: `Charge ${chargeIdOf(intent)} has been charged back; cannot issue a refund.`,
    });
    expect((await other.stripe.refunds.list({ payment_intent: intent.id })).data).toEqual([]);
    const with_source = await other.stripe.balanceTransactions.retrieve(withdrawal.id, { expand: ['source'] });
    expect(with_source.source).toMatchObject({ object: 'dispute', id: dispute.id, status: 'needs_response' });
    // The other merchant sees nothing of it.
    expect((await t.stripe.disputes.list({ payment_intent: intent.id })).data).toEqual([]);
    await expect(t.stripe.disputes.retrieve(dispute.id)).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('4000000000002685 (pm_card_createDisputeProductNotReceived) is disputed as product_not_received', async () => {
    const { dispute } = await disputedPayment('pm_card_createDisputeProductNotReceived', 1200);
    expect(dispute).toMatchObject({ reason: 'product_not_received', status: 'needs_response', amount: 1200 });
    expect(stripeSchemaProblems('dispute', dispute)).toEqual([]);
  });

  it('4000000000001976 (pm_card_createDisputeInquiry) opens an inquiry that moves no money', async () => {
    const before = await balance();
    const { intent, dispute } = await disputedPayment('pm_card_createDisputeInquiry', 1000);
    expect(dispute).toMatchObject({ status: 'warning_needs_response', is_charge_refundable: true, balance_transactions: [] });
    const after = await balance();
    expect(after.available).toBe(before.available);
    expect((await t.stripe.charges.retrieve(chargeIdOf(intent))).disputed).toBe(true);
    // An inquiry took nothing: the merchant may still refund (and so avoid the chargeback).
    expect((await t.stripe.refunds.create({ payment_intent: intent.id })).status).toBe('succeeded');
  });

  it('4000000000005423 (pm_card_createIssuerFraudRecord) draws an early fraud warning and no dispute: nothing moves', async () => {
    const before = await balance();
    const intent = await t.stripe.paymentIntents.create({ amount: 1700, currency: 'usd', payment_method: 'pm_card_createIssuerFraudRecord', confirm: true });
    const listed = await until(
      () => t.stripe.radar.earlyFraudWarnings.list({ payment_intent: intent.id }),
      (list) => list.data.length > 0,
      'the early fraud warning',
    );
    expect(listed.data).toHaveLength(1);
    const warning = listed.data[0]!;
    expect(stripeSchemaProblems('radar.early_fraud_warning', warning)).toEqual([]);
    expect(warning).toMatchObject({
      object: 'radar.early_fraud_warning',
      actionable: true,
      charge: chargeIdOf(intent),
      payment_intent: intent.id,
      fraud_type: 'made_with_stolen_card',
      livemode: false,
    });
    expect(warning.id).toMatch(/^issfr_/);
    const expanded = await t.stripe.radar.earlyFraudWarnings.retrieve(warning.id, { expand: ['charge'] });
    expect((expanded.charge as Stripe.Charge).id).toBe(chargeIdOf(intent));
    expect((await t.stripe.radar.earlyFraudWarnings.list({ charge: chargeIdOf(intent) })).data.map((w) => w.id)).toEqual([warning.id]);
    expect((await t.stripe.disputes.list({ payment_intent: intent.id })).data).toEqual([]);
    expect((await t.stripe.charges.retrieve(chargeIdOf(intent))).disputed).toBe(false);
    const balance_after = await balance();
    expect(balance_after.available).toBe(before.available);
    const events = await t.stripe.events.list({ type: 'radar.early_fraud_warning.created' });
    expect(events.data.map((event) => (event.data.object as { id: string }).id)).toContain(warning.id);
  });

  it('a raw card number works as well as its pm_card_ id, and an ordinary card is never disputed', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4000000000000259', exp_month: 12, exp_year: 2034, cvc: '123' } });
    const { dispute } = await disputedPayment(method.id, 777);
    expect(dispute.reason).toBe('fraudulent');
    const plain = await t.stripe.paymentIntents.create({ amount: 500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    // Wait until a dispute card paid after it is disputed: the job has passed the plain one by then.
    await disputedPayment('pm_card_createDispute', 501);
    expect((await t.stripe.disputes.list({ payment_intent: plain.id })).data).toEqual([]);
    expect((await t.stripe.charges.retrieve(chargeIdOf(plain))).disputed).toBe(false);
  });

  it('a manual capture is disputed once captured, not when authorized', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      capture_method: 'manual',
      confirm: true,
    });
    await disputedPayment('pm_card_createDispute', 502); // the job has run since the authorization
    expect((await t.stripe.disputes.list({ payment_intent: intent.id })).data).toEqual([]);
    await t.stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2500 });
    const listed = await until(
      () => t.stripe.disputes.list({ payment_intent: intent.id }),
      (list) => list.data.length > 0,
      'the dispute',
    );
    expect(listed.data[0]).toMatchObject({ amount: 2500, status: 'needs_response' });
  });
});

describe('evidence and outcomes', () => {
  it('winning_evidence in uncategorized_text wins shortly after: amount and fee come back', async () => {
    const { intent, dispute } = await disputedPayment('pm_card_createDispute', 4000);
    const before = await balance();
    const submitted = await t.stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: 'winning_evidence', customer_name: 'Jenny Rosen' },
      metadata: { case: '42' },
    });
    expect(submitted).toMatchObject({
      status: 'under_review',
      metadata: { case: '42' },
      evidence_details: { has_evidence: true, submission_count: 1, past_due: false, due_by: dispute.evidence_details.due_by },
    });
    expect(submitted.evidence).toMatchObject({ uncategorized_text: 'winning_evidence', customer_name: 'Jenny Rosen', receipt: null });
    const won = await until(
      () => t.stripe.disputes.retrieve(dispute.id),
      (d) => d.status === 'won',
      'the win',
    );
    expect(stripeSchemaProblems('dispute', won)).toEqual([]);
    expect(won.balance_transactions).toHaveLength(2);
    expect(won.balance_transactions[1]).toMatchObject({ type: 'adjustment', reporting_category: 'dispute_reversal', amount: 4000, fee: -FEE, net: 5500 });
    expect(await balance()).toEqual({ available: before.available + 5500, pending: before.pending });
    // The money is the merchant's again, so the charge may be refunded again.
    expect((await t.stripe.refunds.create({ payment_intent: intent.id, amount: 100 })).status).toBe('succeeded');
    const reversal = await t.stripe.balanceTransactions.list({ source: dispute.id });
    expect(reversal.data.map((bt) => bt.reporting_category).sort()).toEqual(['dispute', 'dispute_reversal']);
    expect(await eventTypes(dispute.id)).toEqual([
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
    ]);
  });

  it('losing_evidence loses: nothing comes back', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 3000);
    const before = await balance();
    await t.stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: 'losing_evidence' } });
    const lost = await until(
      () => t.stripe.disputes.retrieve(dispute.id),
      (d) => d.status === 'lost',
      'the loss',
    );
    expect(lost.balance_transactions).toHaveLength(1);
    expect(await balance()).toEqual(before);
    expect(await eventTypes(dispute.id)).toEqual([
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.updated',
      'charge.dispute.closed',
    ]);
  });

  it('staged evidence (submit=false) stays needs_response; other evidence stays under review', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 1500);
    const staged = await t.stripe.disputes.update(dispute.id, { evidence: { product_description: 'A lamp' }, submit: false });
    expect(staged).toMatchObject({ status: 'needs_response', evidence_details: { has_evidence: true, submission_count: 0 } });
    const submitted = await t.stripe.disputes.update(dispute.id, { submit: true });
    expect(submitted).toMatchObject({ status: 'under_review', evidence_details: { submission_count: 1 } });
    expect(submitted.evidence.product_description).toBe('A lamp');
  });

  it('closing accepts the dispute: lost, with nothing more moved; an inquiry closes as warning_closed', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 2100);
    const before = await balance();
    const closed = await t.stripe.disputes.close(dispute.id);
    expect(closed.status).toBe('lost');
    expect(await balance()).toEqual(before);
    const inquiry = (await disputedPayment('pm_card_createDisputeInquiry', 2200)).dispute;
    expect((await t.stripe.disputes.close(inquiry.id)).status).toBe('warning_closed');
  });

  it('an inquiry answered with winning_evidence closes; with losing_evidence it becomes a chargeback', async () => {
    const won = (await disputedPayment('pm_card_createDisputeInquiry', 2300)).dispute;
    expect((await t.stripe.disputes.update(won.id, { evidence: { uncategorized_text: 'winning_evidence' } })).status).toBe('warning_under_review');
    await until(
      () => t.stripe.disputes.retrieve(won.id),
      (d) => d.status === 'warning_closed',
      'the inquiry to close',
    );
    const { intent: escalated_intent, dispute: lost } = await disputedPayment('pm_card_createDisputeInquiry', 2400);
    const before = await balance();
    await t.stripe.disputes.update(lost.id, { evidence: { uncategorized_text: 'losing_evidence' } });
    const chargeback = await until(
      () => t.stripe.disputes.retrieve(lost.id),
      (d) => d.status === 'needs_response',
      'the chargeback',
    );
    expect(chargeback).toMatchObject({ is_charge_refundable: false, balance_transactions: [{ amount: -2400, fee: FEE, net: -3900 }] });
    expect((await balance()).available).toBe(before.available - 3900);
    await expect(t.stripe.refunds.create({ payment_intent: escalated_intent.id })).rejects.toMatchObject({ code: 'charge_disputed' });
  });

  it('list filters by charge, payment_intent and created, newest first', async () => {
    const a = await disputedPayment('pm_card_createDispute', 1100);
    const b = await disputedPayment('pm_card_createDispute', 1101);
    expect((await t.stripe.disputes.list({ charge: chargeIdOf(a.intent) })).data.map((d) => d.id)).toEqual([a.dispute.id]);
    const recent = await t.stripe.disputes.list({ created: { gte: a.dispute.created }, limit: 100 });
    expect(recent.data.map((d) => d.id)).toEqual(expect.arrayContaining([a.dispute.id, b.dispute.id]));
    expect(recent.data.findIndex((d) => d.id === b.dispute.id)).toBeLessThan(recent.data.findIndex((d) => d.id === a.dispute.id));
    expect((await t.stripe.disputes.list({ created: { gt: b.dispute.created + 10 } })).data).toEqual([]);
    const expanded = await t.stripe.disputes.retrieve(a.dispute.id, { expand: ['charge', 'payment_intent'] });
    expect((expanded.charge as Stripe.Charge).id).toBe(chargeIdOf(a.intent));
    expect((expanded.payment_intent as Stripe.PaymentIntent).id).toBe(a.intent.id);
  });

  it('the ledger verifies clean after all of it', async () => {
    await ledgerCaughtUp();
    const report = await verifyLedger(t.platform.database.pool, Math.floor(Date.now() / 1000), ledgerRecords, disputeLedgerRecords);
    expect(report.counts.disputes).toBeGreaterThan(10);
    expect(report.problems).toEqual([]);
  });
});

describe('bad input', () => {
  it('a closed dispute refuses evidence with a Stripe error, and nothing changes', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 1300);
    await t.stripe.disputes.close(dispute.id);
    const before = await t.stripe.disputes.retrieve(dispute.id);
    await expect(t.stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: 'winning_evidence' } })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'dispute_unexpected_state',
    });
    await expect(t.stripe.disputes.close(dispute.id)).rejects.toMatchObject({ statusCode: 400, code: 'dispute_unexpected_state' });
    expect(await t.stripe.disputes.retrieve(dispute.id)).toEqual(before);
  });

  it('an unknown evidence field, a file field, an overlong field and an unknown dispute are refused', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 1400);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ evidence: { favourite_colour: 'blue' } }, 'parameter_unknown', 'evidence[favourite_colour]'],
      [{ evidence: { receipt: 'file_123' } }, 'parameter_unknown', 'evidence[receipt]'],
      [{ evidence: { uncategorized_text: 'x'.repeat(20_001) } }, 'parameter_invalid', 'evidence[uncategorized_text]'],
      [{ submit: 'maybe' }, 'parameter_invalid', 'submit'],
    ];
    for (const [params, code, param] of cases) {
      await expect(t.stripe.disputes.update(dispute.id, params as Stripe.DisputeUpdateParams)).rejects.toMatchObject({ statusCode: 400, code, param });
    }
    expect(await t.stripe.disputes.retrieve(dispute.id)).toEqual(dispute);
    await expect(t.stripe.disputes.retrieve('dp_nosuchdispute')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('a restricted key needs rak_dispute_read to read and rak_dispute_write to answer', async () => {
    const { dispute } = await disputedPayment('pm_card_createDispute', 1600);
    const merchant = await t.platform.database.pool.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY created LIMIT 1');
    const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
    const context = { now_s: Math.floor(Date.now() / 1000), actor: { type: 'system' as const } };
    const reader = stripeClient(
      t.url,
      (await createApiKey(store, merchant.rows[0]!.id, { kind: 'restricted', permissions: { disputes: 'read' } }, context)).key,
    );
    const none = stripeClient(t.url, (await createApiKey(store, merchant.rows[0]!.id, { kind: 'restricted', permissions: { charges: 'read' } }, context)).key);
    expect((await reader.disputes.retrieve(dispute.id)).id).toBe(dispute.id);
    await expect(reader.disputes.close(dispute.id)).rejects.toMatchObject({ statusCode: 403 });
    const refused = await none.disputes.list().then(
      () => undefined,
      (error: unknown) => error as { statusCode: number; message: string },
    );
    expect(refused?.statusCode).toBe(403);
    expect(refused?.message).toContain('rak_dispute_read');
    expect((await t.stripe.disputes.retrieve(dispute.id)).status).toBe('needs_response');
  });
});

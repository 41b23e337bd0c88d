import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { freshMerchant, ruleAdmin } from '../support/risk.js';

/**
 * Reviews through the official SDK: a merchant's Review rule holds a payment authorized and
 * uncaptured; approving the review captures it (automatic capture) or lets it be captured (manual);
 * canceling it closes the review; concurrent approvals capture once.
 */

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const REVIEW_RULE = 'Review if :amount_in_usd: > 500';
const REVIEWED_AMOUNT = 60_000;

let t: TestPlatform;
let merchant: Awaited<ReturnType<typeof freshMerchant>>;
beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  merchant = await freshMerchant(t);
  await ruleAdmin(t).add(merchant.merchant_id, REVIEW_RULE);
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function reviewedPayment(
  options: { capture_method?: 'manual' } = {},
): Promise<{ intent: Stripe.PaymentIntent; charge: Stripe.Charge; review_id: string }> {
  const intent = await merchant.stripe.paymentIntents.create({
    amount: REVIEWED_AMOUNT,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
    ...options,
  });
  const charge = await merchant.stripe.charges.retrieve(chargeIdOf(intent));
  const review_id = charge.review;
  if (typeof review_id !== 'string') throw new Error(`charge ${charge.id} was not placed in review`);
  return { intent, charge, review_id };
}

async function eventsOf(object_id: string): Promise<Stripe.Event[]> {
  const events = await merchant.stripe.events.list({ limit: 100 });
  return events.data.filter((event) => (event.data.object as { id?: string }).id === object_id).reverse();
}

async function capturedAtProcessor(charge_id: string): Promise<number> {
  const row = await t.owner.query<{ amount_captured: string }>('SELECT amount_captured FROM sandbox.attempts WHERE attempt_id = $1', [charge_id]);
  return Number(row.rows[0]?.amount_captured);
}

describe('a payment a Review rule holds', () => {
  it('is authorized, not captured, and processing, with an open review', async () => {
    const { intent, charge, review_id } = await reviewedPayment();
    expect(intent.status).toBe('processing');
    expect(intent.review).toBe(review_id);
    expect(intent.amount_received).toBe(0);
    expect(charge).toMatchObject({ status: 'succeeded', captured: false, amount_captured: 0, paid: true });
    expect(charge.outcome).toMatchObject({ type: 'manual_review', reason: 'rule', network_status: 'approved_by_network' });
    expect(charge.outcome?.seller_message).toBe('Payrail placed this payment in your manual review queue because it matched a rule.');
    expect(await capturedAtProcessor(charge.id)).toBe(0);
    const review = await merchant.stripe.reviews.retrieve(review_id);
    expect(review).toMatchObject({
      object: 'review',
      open: true,
      opened_reason: 'rule',
      reason: 'rule',
      closed_reason: null,
      charge: charge.id,
      payment_intent: intent.id,
    });
    expect(review.ip_address).toBe('127.0.0.1');
    expect(review.id).toMatch(/^prv_/);
    for (const [name, object] of [
      ['review', review],
      ['charge', charge],
      ['payment_intent', intent],
    ] as const)
      expect(stripeSchemaProblems(name, object)).toEqual([]);
    expect((await merchant.stripe.reviews.list({ limit: 100 })).data.map((listed) => listed.id)).toContain(review_id);
    expect((await eventsOf(review_id)).map((event) => event.type)).toEqual(['review.opened']);
    expect((await eventsOf(intent.id)).map((event) => event.type)).toContain('payment_intent.processing');
    // Expanding the review on the charge gives the review itself.
    const expanded = await merchant.stripe.charges.retrieve(charge.id, { expand: ['review'] });
    expect((expanded.review as Stripe.Review).id).toBe(review_id);
  });

  it('is captured when its review is approved; approving again is refused', async () => {
    const { intent, charge, review_id } = await reviewedPayment();
    const approved = await merchant.stripe.reviews.approve(review_id);
    expect(approved).toMatchObject({ open: false, closed_reason: 'approved', reason: 'approved' });
    expect(stripeSchemaProblems('review', approved)).toEqual([]);
    const after = await merchant.stripe.paymentIntents.retrieve(intent.id);
    expect(after).toMatchObject({ status: 'succeeded', amount_received: REVIEWED_AMOUNT });
    const captured = await merchant.stripe.charges.retrieve(charge.id);
    expect(captured).toMatchObject({ captured: true, amount_captured: REVIEWED_AMOUNT, review: review_id });
    expect(await capturedAtProcessor(charge.id)).toBe(REVIEWED_AMOUNT);
    expect((await eventsOf(review_id)).map((event) => event.type)).toEqual(['review.opened', 'review.closed']);
    expect((await eventsOf(charge.id)).map((event) => event.type)).toEqual(['charge.succeeded', 'charge.captured']);
    expect((await merchant.stripe.reviews.list({ limit: 100 })).data.map((listed) => listed.id)).not.toContain(review_id);
    const again = await rejection(merchant.stripe.reviews.approve(review_id));
    expect(again.statusCode).toBe(400);
    expect(again.type).toBe('StripeInvalidRequestError');
    expect(again.code).toBe('review_unexpected_state');
  });

  it('captures once when approvals race', async () => {
    const { intent, charge, review_id } = await reviewedPayment();
    const answers = await Promise.allSettled(Array.from({ length: 6 }, () => merchant.stripe.reviews.approve(review_id)));
    const approved = answers.filter((answer) => answer.status === 'fulfilled');
    expect(approved.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) {
      if (answer.status === 'rejected') expect([400, 409]).toContain((answer.reason as Stripe.errors.StripeError).statusCode);
    }
    expect(await capturedAtProcessor(charge.id)).toBe(REVIEWED_AMOUNT);
    expect((await eventsOf(charge.id)).filter((event) => event.type === 'charge.captured')).toHaveLength(1);
    expect((await eventsOf(review_id)).filter((event) => event.type === 'review.closed')).toHaveLength(1);
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).amount_received).toBe(REVIEWED_AMOUNT);
  });

  it('with manual capture waits in requires_capture: capture is refused until the review is approved', async () => {
    const { intent, review_id } = await reviewedPayment({ capture_method: 'manual' });
    expect(intent.status).toBe('requires_capture');
    const refused = await rejection(merchant.stripe.paymentIntents.capture(intent.id));
    expect(refused.code).toBe('payment_intent_unexpected_state');
    expect(refused.message).toContain(review_id);
    await merchant.stripe.reviews.approve(review_id);
    expect((await merchant.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_capture');
    const captured = await merchant.stripe.paymentIntents.capture(intent.id);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: REVIEWED_AMOUNT });
  });

  it('closes its review when canceled: refunded_as_fraud for a fraudulent cancel, refunded otherwise', async () => {
    const fraud = await reviewedPayment();
    const canceled = await merchant.stripe.paymentIntents.cancel(fraud.intent.id, { cancellation_reason: 'fraudulent' });
    expect(canceled.status).toBe('canceled');
    expect(await merchant.stripe.reviews.retrieve(fraud.review_id)).toMatchObject({ open: false, closed_reason: 'refunded_as_fraud' });
    const voided = await t.owner.query<{ voided: boolean }>('SELECT voided FROM sandbox.attempts WHERE attempt_id = $1', [fraud.charge.id]);
    expect(voided.rows[0]?.voided).toBe(true);
    const manual = await reviewedPayment({ capture_method: 'manual' });
    await merchant.stripe.paymentIntents.cancel(manual.intent.id, { cancellation_reason: 'requested_by_customer' });
    expect(await merchant.stripe.reviews.retrieve(manual.review_id)).toMatchObject({ open: false, closed_reason: 'refunded' });
    expect((await eventsOf(manual.review_id)).map((event) => event.type)).toEqual(['review.opened', 'review.closed']);
    const approve_closed = await rejection(merchant.stripe.reviews.approve(manual.review_id));
    expect(approve_closed.code).toBe('review_unexpected_state');
  });
});

describe('a legacy Charges API charge a Review rule holds', () => {
  it('shows no PaymentIntent on its review, and is captured on approval', async () => {
    const charge = await merchant.stripe.charges.create({ amount: REVIEWED_AMOUNT, currency: 'usd', source: 'tok_visa' });
    expect(charge).toMatchObject({ status: 'succeeded', captured: false, payment_intent: null });
    expect(charge.outcome?.type).toBe('manual_review');
    const review = await merchant.stripe.reviews.retrieve(charge.review as string);
    expect(review.payment_intent).toBeUndefined();
    expect(stripeSchemaProblems('review', review)).toEqual([]);
    await merchant.stripe.reviews.approve(review.id);
    expect(await merchant.stripe.charges.retrieve(charge.id)).toMatchObject({ captured: true, amount_captured: REVIEWED_AMOUNT });
    const events = await merchant.stripe.events.list({ limit: 100 });
    const intent_events = events.data.filter(
      (event) => event.type.startsWith('payment_intent.') && (event.data.object as Stripe.PaymentIntent).latest_charge === charge.id,
    );
    expect(intent_events.map((event) => event.type)).toEqual([]);
  });
});

describe('reviews, bad input and permissions', () => {
  it('an unknown review is resource_missing; an unknown parameter is refused', async () => {
    const missing = await rejection(merchant.stripe.reviews.retrieve('prv_doesnotexist'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
    const unknown = await rejection(merchant.stripe.reviews.list({ open: true } as Stripe.ReviewListParams));
    expect(unknown.code).toBe('parameter_unknown');
  });

  it('a restricted key needs reviews read to list and reviews write to approve', async () => {
    const { review_id } = await reviewedPayment();
    const reader = stripeClient(t.url, await restrictedKey({ reviews: 'read' }));
    expect((await reader.reviews.retrieve(review_id)).id).toBe(review_id);
    const denied = await rejection(reader.reviews.approve(review_id));
    expect(denied.statusCode).toBe(403);
    expect(denied.message).toContain('rak_review_write');
    const stranger = stripeClient(t.url, await restrictedKey({ charges: 'read' }));
    expect((await rejection(stranger.reviews.list())).statusCode).toBe(403);
    // A key that may read reviews but not charges cannot read the charge by expanding it.
    expect((await rejection(reader.reviews.retrieve(review_id, { expand: ['charge'] }))).statusCode).toBe(403);
    const writer = stripeClient(t.url, await restrictedKey({ reviews: 'write' }));
    expect((await writer.reviews.approve(review_id)).closed_reason).toBe('approved');
  });
});

async function restrictedKey(permissions: Record<string, 'read' | 'write'>): Promise<string> {
  const form = new URLSearchParams({ type: 'restricted' });
  for (const [resource, access] of Object.entries(permissions)) form.set(`permissions[${resource}]`, access);
  const created = await fetch(`${t.url}/admin/v1/merchants/${merchant.merchant_id}/api_keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return String(((await created.json()) as { secret?: string }).secret);
}

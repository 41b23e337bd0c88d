import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PaymentIntent } from '../../src/services/payments/domain/intent.js';
import * as Intent from '../../src/services/payments/domain/intent.js';
import type { Review } from '../../src/services/payments/domain/review.js';
import { checkApprovable, close, openedByRule, reasonOf } from '../../src/services/payments/domain/review.js';
import { PayrailError } from '../../src/kernel/errors.js';
import type { RiskDecision } from '../../src/services/risk/index.js';

/** A payment placed in review, on the intent's state machine and the review's. */

const REVIEW: RiskDecision = { action: 'review', risk_score: 40, risk_level: 'normal', rule: null, reason: 'rule' };

function confirmable(amount: number, capture_method: Intent.CaptureMethod): PaymentIntent {
  return {
    id: 'pi_1',
    merchant_id: 'acct_1',
    amount,
    currency: 'usd',
    status: 'requires_confirmation',
    capture_method,
    confirmation_method: 'automatic',
    customer: null,
    payment_method: 'pm_card_visa',
    amount_capturable: 0,
    amount_received: 0,
    latest_charge: null,
    description: null,
    metadata: {},
    last_payment_error: null,
    next_action: null,
    cancellation_reason: null,
    canceled_at: null,
    receipt_email: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    setup_future_usage: null,
    return_url: null,
    client_secret: 'pi_1_secret',
    pending_attempt: null,
    created: 1,
    version: 1,
  };
}

function held(amount: number, capture_method: Intent.CaptureMethod): PaymentIntent {
  const processing = Intent.beginAttempt(confirmable(amount, capture_method), 'ch_1', REVIEW);
  const hold = Intent.capturesAutomatically(processing);
  return Intent.checkIntent(Intent.applyAttempt(processing, { outcome: 'authorized', captured: false, charge_id: 'ch_1', review: { id: 'prv_1', hold } }));
}

describe('a payment held for review', () => {
  it('with automatic capture is processing, nothing capturable, until approval captures it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 99_999_999 }), (amount) => {
        const intent = held(amount, 'automatic');
        expect(intent).toMatchObject({
          status: 'processing',
          amount_capturable: 0,
          amount_received: 0,
          review: 'prv_1',
          pending_attempt: null,
          held_for_review: true,
        });
        const approved = Intent.checkIntent(Intent.approveReview(intent, amount));
        expect(approved).toMatchObject({ status: 'succeeded', amount_received: amount, held_for_review: false });
      }),
    );
  });

  it('with manual capture is requires_capture but refuses capture until approved', () => {
    const intent = held(2000, 'manual');
    expect(intent).toMatchObject({ status: 'requires_capture', amount_capturable: 2000 });
    expect(() => Intent.capture(intent, undefined)).toThrow(PayrailError);
    const approved = Intent.checkIntent(Intent.approveReview(intent, null));
    expect(Intent.capture(approved, undefined).intent.status).toBe('succeeded');
  });

  it('can be canceled, and then is no longer held', () => {
    for (const capture_method of ['automatic', 'manual'] as const) {
      const canceled = Intent.checkIntent(Intent.cancel(held(2000, capture_method), 'fraudulent', 5));
      expect(canceled).toMatchObject({ status: 'canceled', held_for_review: false, amount_capturable: 0 });
    }
  });

  it('cannot be confirmed or updated again while held', () => {
    const intent = held(2000, 'automatic');
    expect(() => Intent.beginConfirm(intent, null)).toThrow(PayrailError);
    expect(() => Intent.update(intent, { amount: 10 })).toThrow(PayrailError);
  });
});

describe('a review', () => {
  const open: Review = openedByRule({
    id: 'prv_1',
    merchant_id: 'acct_1',
    charge: 'ch_1',
    payment_intent: 'pi_1',
    ip_address: null,
    billing_zip: null,
    created: 1,
  });

  it('is open for its rule, closed with its reason, and cannot be approved once closed', () => {
    expect(reasonOf(open)).toBe('rule');
    expect(() => checkApprovable(open)).not.toThrow();
    const closed = close(open, 'refunded_as_fraud');
    expect(closed).toMatchObject({ open: false, closed_reason: 'refunded_as_fraud', version: 2 });
    expect(reasonOf(closed)).toBe('refunded_as_fraud');
    expect(() => checkApprovable(closed)).toThrow(expect.objectContaining({ code: 'review_unexpected_state' }) as Error);
  });
});

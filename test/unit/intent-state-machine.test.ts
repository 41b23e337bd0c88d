import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PaymentIntent } from '../../src/services/payments/domain/intent.js';
import * as Intent from '../../src/services/payments/domain/intent.js';
import { PayrailError } from '../../src/kernel/errors.js';
import { mergeMetadata } from '../../src/kernel/metadata.js';

function newIntent(amount: number, capture_method: Intent.CaptureMethod = 'automatic'): PaymentIntent {
  return {
    id: 'pi_1',
    merchant_id: 'acct_1',
    amount,
    currency: 'usd',
    status: 'requires_payment_method',
    capture_method,
    confirmation_method: 'automatic',
    customer: null,
    payment_method: null,
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

const decline = {
  type: 'card_error' as const,
  code: 'card_declined',
  decline_code: 'generic_decline',
  message: 'Declined',
  charge: 'ch_x',
  payment_method_id: 'pm_x',
};
const action = { type: 'redirect_to_url' as const, redirect_to_url: { url: 'http://x', return_url: null } };

type Step =
  | { kind: 'confirm'; outcome: 'authorized' | 'declined' | 'requires_action' }
  | { kind: 'capture'; fraction: number }
  | { kind: 'cancel' }
  | { kind: 'update'; amount: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('confirm' as const), outcome: fc.constantFrom('authorized' as const, 'declined' as const, 'requires_action' as const) }),
  fc.record({ kind: fc.constant('capture' as const), fraction: fc.double({ min: 0, max: 1.5, noNaN: true }) }),
  fc.record({ kind: fc.constant('cancel' as const) }),
  fc.record({ kind: fc.constant('update' as const), amount: fc.integer({ min: 50, max: 1_000_000 }) }),
);

/** Applies a step as the use cases do; an expected refusal must be payment_intent_unexpected_state or amount_too_large. */
function apply(intent: PaymentIntent, s: Step, n: number): PaymentIntent {
  switch (s.kind) {
    case 'confirm': {
      const ready = Intent.beginConfirm(intent, 'pm_card_visa');
      const charge_id = `ch_${n}`;
      if (s.outcome === 'authorized') return Intent.applyAttempt(ready, { outcome: 'authorized', captured: ready.capture_method !== 'manual', charge_id });
      if (s.outcome === 'declined') return Intent.applyAttempt(ready, { outcome: 'declined', charge_id, error: decline });
      return Intent.applyAttempt(ready, { outcome: 'requires_action', charge_id, next_action: action });
    }
    case 'capture':
      return Intent.capture(intent, Math.floor(intent.amount_capturable * s.fraction)).intent;
    case 'cancel':
      return Intent.cancel(intent, 'requested_by_customer', 2);
    case 'update':
      return Intent.update(intent, { amount: s.amount });
  }
}

describe('PaymentIntent state machine', () => {
  it('keeps every invariant over random operation sequences; refusals are typed 400s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 99_999_999 }),
        fc.constantFrom<Intent.CaptureMethod>('automatic', 'manual'),
        fc.array(step, { maxLength: 12 }),
        (amount, method, steps) => {
          let intent = newIntent(amount, method);
          steps.forEach((s, n) => {
            try {
              const next = apply(intent, s, n);
              Intent.checkIntent(next);
              expect(next.version).toBe(intent.version + 1);
              intent = next;
            } catch (error) {
              expect(error).toBeInstanceOf(PayrailError);
              expect(['payment_intent_unexpected_state', 'amount_too_large']).toContain((error as PayrailError).code);
              expect((error as PayrailError).status).toBe(400);
            }
          });
          if (intent.status === 'succeeded') expect(intent.amount_received).toBeGreaterThanOrEqual(0);
          if (intent.status === 'canceled' || intent.status === 'succeeded') {
            expect(() => Intent.beginConfirm(intent, 'pm_card_visa')).toThrow(PayrailError);
            expect(() => Intent.cancel(intent, null, 3)).toThrow(PayrailError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('automatic capture succeeds with the full amount received', () => {
    const intent = Intent.applyAttempt(Intent.beginConfirm(newIntent(1000), 'pm_card_visa'), { outcome: 'authorized', captured: true, charge_id: 'ch_1' });
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 1000, amount_capturable: 0, latest_charge: 'ch_1' });
  });

  it('manual capture holds the amount, then a partial capture receives only that part', () => {
    const held = Intent.applyAttempt(Intent.beginConfirm(newIntent(1000, 'manual'), 'pm_card_visa'), {
      outcome: 'authorized',
      captured: false,
      charge_id: 'ch_1',
    });
    expect(held).toMatchObject({ status: 'requires_capture', amount_capturable: 1000 });
    const { intent, amount } = Intent.capture(held, 600);
    expect(amount).toBe(600);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 600, amount_capturable: 0 });
    expect(() => Intent.capture(held, 1001)).toThrow(/greater than the amount capturable/);
  });

  it('a decline returns the intent to requires_payment_method with the error', () => {
    const intent = Intent.applyAttempt(Intent.beginConfirm(newIntent(1000), 'pm_card_visa'), { outcome: 'declined', charge_id: 'ch_1', error: decline });
    expect(intent).toMatchObject({ status: 'requires_payment_method', payment_method: null, latest_charge: 'ch_1' });
    expect(intent.last_payment_error?.decline_code).toBe('generic_decline');
  });

  it('confirm without any payment method is refused', () => {
    expect(() => Intent.beginConfirm(newIntent(1000), null)).toThrow(/missing a payment method/);
  });

  it('metadata merges, and an empty value deletes the key', () => {
    expect(mergeMetadata({ a: '1', b: '2' }, { b: null, c: '3' })).toEqual({ a: '1', c: '3' });
    expect(mergeMetadata({ a: '1' }, null)).toEqual({});
  });
});

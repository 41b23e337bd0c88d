import { describe, expect, it } from 'vitest';
import type { PaymentRequest } from '../../src/simulators/adyen/decisions.js';
import { decidePayment, validatePayment } from '../../src/simulators/adyen/decisions.js';
import { FaultPlan } from '../../src/simulators/adyen/faults.js';

/** The Adyen simulator's pure parts: Adyen's test triggers, its validation errors, and the fault plan. */

const ACCOUNTS = new Set(['PayrailECOM']);

function body(card: Partial<PaymentRequest['paymentMethod']> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    merchantAccount: 'PayrailECOM',
    reference: 'ch_1',
    amount: { value: 1_000, currency: 'EUR' },
    paymentMethod: { type: 'scheme', number: '4111111145551142', expiryMonth: '03', expiryYear: '2030', cvc: '737', ...card },
    ...extra,
  };
}

function decide(card: Partial<PaymentRequest['paymentMethod']> = {}, extra: Record<string, unknown> = {}) {
  const valid = validatePayment(body(card, extra), ACCOUNTS);
  if (!valid.ok) throw new Error(valid.failure.message);
  return decidePayment(valid.request);
}

describe('outcomes', () => {
  it("authorises Adyen's test card with its CVC, and refuses it with another (Adyen's rule)", () => {
    expect(decide()).toEqual({ kind: 'authorised' });
    expect(decide({ cvc: '123' })).toMatchObject({ kind: 'refused', code: '2', reason: 'Refused' });
  });

  it('holderName picks the refusal, optionally with the raw scheme answer', () => {
    expect(decide({ holderName: 'NOT_ENOUGH_BALANCE' })).toMatchObject({ kind: 'refused', code: '12', reason: 'Not enough balance' });
    expect(decide({ holderName: 'DECLINED : 05 : Do not honor' })).toEqual({ kind: 'refused', code: '2', reason: 'Refused', raw: '05 : Do not honor' });
    expect(decide({ holderName: 'ERROR' })).toEqual({ kind: 'error', code: '4', reason: 'Acquirer Error' });
  });

  it('RequestedTestAcquirerResponseCode wins over everything else', () => {
    expect(decide({ holderName: 'DECLINED' }, { additionalData: { RequestedTestAcquirerResponseCode: '6' } })).toMatchObject({
      code: '6',
      reason: 'Expired Card',
    });
    expect(decide({ number: '4000000000000002' }, { additionalData: { RequestedTestAcquirerResponseCode: '1' } })).toEqual({ kind: 'authorised' });
  });

  it("Stripe's test cards mean what they mean in Payrail's sandbox", () => {
    expect(decide({ number: '4000000000009995' })).toMatchObject({ code: '12' });
    expect(decide({ number: '4000000000009979' })).toMatchObject({ code: '5', raw: '43 : STOLEN CARD' });
    expect(decide({ number: '4000000000000127' })).toMatchObject({ code: '24', cvc_result: '2 Does not match' });
    expect(decide({ number: '4242424242424242', cvc: '123' })).toEqual({ kind: 'authorised' });
  });

  it('4000000000000341 passes a zero-amount verification and declines charges', () => {
    expect(decide({ number: '4000000000000341' }, { amount: { value: 0, currency: 'EUR' } })).toEqual({ kind: 'authorised' });
    expect(decide({ number: '4000000000000341' })).toMatchObject({ kind: 'refused', code: '2' });
  });

  it('a challenge on session, Authentication required off session', () => {
    expect(decide({ number: '4000002760003184' })).toEqual({ kind: 'challenge' });
    expect(decide({}, { authenticationData: { attemptAuthentication: 'always' } })).toEqual({ kind: 'challenge' });
    expect(decide({ number: '4000002760003184' }, { shopperInteraction: 'ContAuth' })).toMatchObject({ code: '38', reason: 'Authentication required' });
  });
});

describe('validation errors, with Adyen codes', () => {
  it.each([
    [{ merchantAccount: 'Nope' }, 403, '901'],
    [{ amount: undefined }, 422, '100'],
    [{ reference: undefined }, 422, '130'],
    [{ paymentMethod: { type: 'scheme', number: '4111111145551143', expiryMonth: '03', expiryYear: '2030' } }, 422, '101'],
    [{ paymentMethod: { type: 'scheme', number: '4111111145551142', expiryMonth: '03', expiryYear: '2030', cvc: '12' } }, 422, '103'],
    [{ paymentMethod: { type: 'scheme', number: '4111111145551142', expiryMonth: '13', expiryYear: '2030' } }, 422, '129'],
    [{ amount: { value: 1.5, currency: 'EUR' } }, 422, '000'],
  ])('%j -> %i %s', (change, status, errorCode) => {
    const valid = validatePayment({ ...body(), ...change }, ACCOUNTS);
    expect(valid.ok).toBe(false);
    expect(!valid.ok && valid.failure).toMatchObject({ status, errorCode });
  });
});

describe('fault plan', () => {
  it('queued faults apply to the next matching call, once each, in order', () => {
    const plan = new FaultPlan();
    plan.set({
      next: [
        { endpoint: 'refunds', kind: 'drop_after' },
        { kind: 'error_before', status: 503 },
      ],
    });
    expect(plan.take('payments')).toEqual({ kind: 'error_before', status: 503 });
    expect(plan.take('payments')).toBeNull();
    expect(plan.take('refunds')).toEqual({ kind: 'drop_after', status: 500 });
    expect(plan.take('refunds')).toBeNull();
  });

  it('rates draw the same faults for the same seed', () => {
    const draws = (seed: number) => {
      const plan = new FaultPlan(seed);
      plan.set({ rates: { timeout_after: 0.3 } });
      return Array.from({ length: 200 }, () => plan.take('payments')?.kind ?? null);
    };
    const first = draws(7);
    expect(draws(7)).toEqual(first);
    const faulted = first.filter((kind) => kind === 'timeout_after').length;
    expect(faulted).toBeGreaterThan(30);
    expect(faulted).toBeLessThan(90);
  });

  it('refuses settings out of range', () => {
    expect(() => new FaultPlan().set({ rates: { error_after: 2 } })).toThrow();
    expect(() => new FaultPlan().set({ latency_ms: -1 })).toThrow();
  });
});

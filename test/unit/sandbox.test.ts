import { describe, it, expect } from 'vitest';
import { AssertionError } from '../../src/kernel/assert.js';
import { SandboxProcessor } from '../../src/services/connectors/sandbox.js';
import type { AuthorizeRequest } from '../../src/services/connectors/port.js';

let attempt_sequence = 0;

function request(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  attempt_sequence += 1;
  return {
    attempt_id: `ch_test_${attempt_sequence}`,
    merchant_id: 'acct_test',
    amount: 2000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    ...overrides,
  };
}

async function authorizedAttempt(processor: SandboxProcessor, capture: boolean, amount = 2000): Promise<string> {
  const authorization = request('4242424242424242', { capture, amount });
  expect(await processor.authorize(authorization)).toMatchObject({ outcome: 'authorized', captured: capture });
  return authorization.attempt_id;
}

describe('SandboxProcessor authorize', () => {
  it.each(['4242424242424242', '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556'])(
    'approves %s',
    async (number) => {
      const processor = new SandboxProcessor();
      expect(await processor.authorize(request(number))).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
    },
  );

  it('leaves the charge uncaptured when capture is false', async () => {
    const processor = new SandboxProcessor();
    expect(await processor.authorize(request('4242424242424242', { capture: false }))).toEqual({
      outcome: 'authorized',
      captured: false,
      cvc_check: 'pass',
    });
  });

  it.each([
    ['4000000000000002', 'card_declined', 'generic_decline', 'Your card was declined.', 'pass'],
    ['4000000000009995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.', 'pass'],
    ['4000000000009987', 'card_declined', 'lost_card', 'Your card was declined.', 'pass'],
    ['4000000000009979', 'card_declined', 'stolen_card', 'Your card was declined.', 'pass'],
    ['4000000000000069', 'expired_card', 'expired_card', 'Your card has expired.', 'pass'],
    ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect.", 'fail'],
    ['4000000000000119', 'processing_error', 'processing_error', 'An error occurred while processing your card. Try again in a little bit.', 'pass'],
  ])('declines %s with %s / %s', async (number, code, decline_code, message, cvc_check) => {
    const processor = new SandboxProcessor();
    expect(await processor.authorize(request(number))).toEqual({ outcome: 'declined', code, decline_code, message, cvc_check });
  });

  it('declines a number that fails the Luhn check', async () => {
    const processor = new SandboxProcessor();
    expect(await processor.authorize(request('4242424242424241'))).toMatchObject({ outcome: 'declined', decline_code: 'incorrect_number' });
  });

  it('reports an unchecked cvc when none is given', async () => {
    const processor = new SandboxProcessor();
    const without_cvc = (number: string): AuthorizeRequest => {
      const base = request(number);
      return { ...base, card: { ...base.card, cvc: undefined } };
    };
    expect(await processor.authorize(without_cvc('4242424242424242'))).toMatchObject({ outcome: 'authorized', cvc_check: 'unchecked' });
    expect(await processor.authorize(without_cvc('4000000000009995'))).toMatchObject({ outcome: 'declined', cvc_check: 'unchecked' });
  });

  it('answers a repeated attempt from its record without charging again', async () => {
    const processor = new SandboxProcessor();
    const first = request('4242424242424242');
    const original = await processor.authorize(first);
    // A retry with a different card must still get the first answer: nothing is decided twice.
    const retried = await processor.authorize({ ...first, card: { ...first.card, number: '4000000000000002' } });
    expect(retried).toEqual(original);
    expect(processor.authorizationCount()).toBe(1);
    await processor.authorize(request('4242424242424242'));
    expect(processor.authorizationCount()).toBe(2);
  });

  it('charges once when retries of one attempt race during latency', async () => {
    const processor = new SandboxProcessor({ latency_ms: 5 });
    const attempt = request('4242424242424242');
    const results = await Promise.all([processor.authorize(attempt), processor.authorize(attempt), processor.authorize(attempt)]);
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(processor.authorizationCount()).toBe(1);
  });

  it('waits latency_ms on a timer without blocking the event loop', async () => {
    const processor = new SandboxProcessor({ latency_ms: 30 });
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 1);
    const started_ms = performance.now();
    await processor.authorize(request('4242424242424242'));
    clearInterval(ticker);
    expect(performance.now() - started_ms).toBeGreaterThanOrEqual(25);
    expect(ticks).toBeGreaterThan(0);
  });

  it('forgets the oldest attempts beyond max_records', async () => {
    const processor = new SandboxProcessor({ max_records: 2 });
    const oldest = request('4242424242424242');
    await processor.authorize(oldest);
    await processor.authorize(request('4242424242424242'));
    await processor.authorize(request('4242424242424242'));
    expect(processor.authorizationCount()).toBe(3);
    await processor.authorize(oldest);
    expect(processor.authorizationCount()).toBe(4);
  });
});

describe('SandboxProcessor 3-D Secure', () => {
  const THREE_DS_CARD = '4000002760003184';

  it('requires action until authenticated, then authorizes per the capture flag', async () => {
    const processor = new SandboxProcessor();
    const attempt = request(THREE_DS_CARD, { capture: false });
    expect(await processor.authorize(attempt)).toEqual({ outcome: 'requires_action' });
    expect(await processor.authorize(attempt)).toEqual({ outcome: 'requires_action' });
    const completed = await processor.completeAuthentication(attempt.attempt_id, true);
    expect(completed).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
    expect(await processor.authorize(attempt)).toEqual(completed);
    expect(processor.authorizationCount()).toBe(1);
    expect(await processor.capture(attempt.attempt_id, 2000)).toEqual({ outcome: 'captured', amount_captured: 2000 });
  });

  it('captures on authentication when the request asked for automatic capture', async () => {
    const processor = new SandboxProcessor();
    const attempt = request(THREE_DS_CARD, { capture: true });
    await processor.authorize(attempt);
    expect(await processor.completeAuthentication(attempt.attempt_id, true)).toMatchObject({ outcome: 'authorized', captured: true });
    expect(await processor.refund('re_3ds', attempt.attempt_id, 2000)).toEqual({ outcome: 'succeeded' });
  });

  it('declines when authentication fails, and keeps that answer', async () => {
    const processor = new SandboxProcessor();
    const attempt = request(THREE_DS_CARD);
    await processor.authorize(attempt);
    const failed = await processor.completeAuthentication(attempt.attempt_id, false);
    expect(failed).toMatchObject({ outcome: 'declined', code: 'card_declined', decline_code: 'authentication_required' });
    expect(await processor.completeAuthentication(attempt.attempt_id, true)).toEqual(failed);
    expect(await processor.authorize(attempt)).toEqual(failed);
  });

  it('treats completing an unknown or voided attempt as a bug', async () => {
    const processor = new SandboxProcessor();
    await expect(processor.completeAuthentication('ch_unknown', true)).rejects.toThrow(AssertionError);
    const attempt = request(THREE_DS_CARD);
    await processor.authorize(attempt);
    await processor.void(attempt.attempt_id);
    await expect(processor.completeAuthentication(attempt.attempt_id, true)).rejects.toThrow(AssertionError);
  });
});

describe('SandboxProcessor capture and void', () => {
  it('captures up to the authorized amount, once', async () => {
    const processor = new SandboxProcessor();
    const attempt_id = await authorizedAttempt(processor, false);
    expect(await processor.capture(attempt_id, 2001)).toMatchObject({ outcome: 'failed' });
    expect(await processor.capture(attempt_id, 0)).toMatchObject({ outcome: 'failed' });
    expect(await processor.capture(attempt_id, 1500)).toEqual({ outcome: 'captured', amount_captured: 1500 });
    expect(await processor.capture(attempt_id, 2000)).toEqual({ outcome: 'captured', amount_captured: 1500 });
  });

  it('refuses to capture an unknown, declined, auto-captured or voided attempt', async () => {
    const processor = new SandboxProcessor();
    expect(await processor.capture('ch_unknown', 100)).toMatchObject({ outcome: 'failed' });
    const declined = request('4000000000000002', { capture: false });
    await processor.authorize(declined);
    expect(await processor.capture(declined.attempt_id, 100)).toMatchObject({ outcome: 'failed' });
    const auto_captured = await authorizedAttempt(processor, true);
    expect(await processor.capture(auto_captured, 100)).toMatchObject({ outcome: 'failed' });
    const voided = await authorizedAttempt(processor, false);
    await processor.void(voided);
    await processor.void(voided);
    expect(await processor.capture(voided, 100)).toMatchObject({ outcome: 'failed' });
  });

  it('treats voiding a captured attempt as a bug', async () => {
    const processor = new SandboxProcessor();
    const attempt_id = await authorizedAttempt(processor, true);
    await expect(processor.void(attempt_id)).rejects.toThrow(AssertionError);
  });
});

describe('SandboxProcessor refund', () => {
  it('refunds up to the captured amount in parts', async () => {
    const processor = new SandboxProcessor();
    const attempt_id = await authorizedAttempt(processor, false);
    await processor.capture(attempt_id, 1500);
    expect(await processor.refund('re_1', attempt_id, 1000)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_2', attempt_id, 501)).toMatchObject({ outcome: 'failed' });
    expect(await processor.refund('re_3', attempt_id, 500)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_4', attempt_id, 1)).toMatchObject({ outcome: 'failed' });
  });

  it('is idempotent by refund id', async () => {
    const processor = new SandboxProcessor();
    const attempt_id = await authorizedAttempt(processor, true);
    expect(await processor.refund('re_once', attempt_id, 1500)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_once', attempt_id, 1500)).toEqual({ outcome: 'succeeded' });
    // Had the retry refunded again, only 0 would remain and this would fail.
    expect(await processor.refund('re_rest', attempt_id, 500)).toEqual({ outcome: 'succeeded' });
  });

  it('refuses to refund an uncaptured, declined or unknown attempt', async () => {
    const processor = new SandboxProcessor();
    const uncaptured = await authorizedAttempt(processor, false);
    expect(await processor.refund('re_a', uncaptured, 100)).toMatchObject({ outcome: 'failed' });
    const declined = request('4000000000009995');
    await processor.authorize(declined);
    expect(await processor.refund('re_b', declined.attempt_id, 100)).toMatchObject({ outcome: 'failed' });
    expect(await processor.refund('re_c', 'ch_unknown', 100)).toMatchObject({ outcome: 'failed' });
  });
});

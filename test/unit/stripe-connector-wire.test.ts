import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AuthorizeRequest } from '../../src/services/connectors/index.js';
import * as Wire from '../../src/services/connectors/domain/stripe-wire.js';
import type { StripeErrorBody, StripePaymentIntent, StripeRefund, StripeSetupIntent } from '../../src/services/connectors/domain/stripe-wire.js';
import { classifyFailure, describeFailure } from '../../src/services/connectors/domain/stripe-failures.js';
import { stripeFactory } from '../../src/services/connectors/adapters/stripe-factory.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator, idTimeMs } from '../../src/kernel/ids.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/**
 * The stripe connector's transformers against recorded wire examples (test/unit/stripe-wire/), each
 * first checked against Stripe's OpenAPI description so the mapping is tested on Stripe's shapes.
 */

const here = dirname(fileURLToPath(import.meta.url));

function recorded<T>(name: string, schema: string): { status: number; body: T } {
  const answer = JSON.parse(readFileSync(join(here, 'stripe-wire', `${name}.json`), 'utf8')) as { status: number; body: T };
  expect(stripeSchemaProblems(schema, answer.body), `${name} as Stripe's ${schema}`).toEqual([]);
  return answer;
}

const intent = (name: string) => recorded<StripePaymentIntent>(name, 'payment_intent').body;
const cardError = (name: string) => recorded<StripeErrorBody>(name, 'error');

const request: AuthorizeRequest = {
  attempt_id: 'ch_01KBR6Z3J4S1A2B3C4D5E6F7G8',
  merchant_id: 'acct_1',
  amount: 2000,
  currency: 'usd',
  card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' },
  capture: true,
};

describe('requests', () => {
  it('an authorization is one PaymentIntent created and confirmed with the raw card and the attempt in metadata', () => {
    expect(Wire.authorizeParams(request)).toEqual([
      ['amount', '2000'],
      ['currency', 'usd'],
      ['confirm', 'true'],
      ['capture_method', 'automatic'],
      ['payment_method_types[0]', 'card'],
      ['payment_method_data[type]', 'card'],
      ['payment_method_data[card][number]', '4242424242424242'],
      ['payment_method_data[card][exp_month]', '12'],
      ['payment_method_data[card][exp_year]', '2034'],
      ['payment_method_data[card][cvc]', '123'],
      ['metadata[payrail_attempt]', 'ch_01KBR6Z3J4S1A2B3C4D5E6F7G8'],
      ['expand[0]', 'latest_charge'],
    ]);
  });

  it('manual capture, off session and 3-D Secure asked for, a saved card without a CVC', () => {
    const params = new Map(
      Wire.authorizeParams({ ...request, capture: false, off_session: true, three_d_secure: true, card: { ...request.card, cvc: undefined } }),
    );
    expect(params.get('capture_method')).toBe('manual');
    expect(params.get('off_session')).toBe('true');
    expect(params.get('payment_method_options[card][request_three_d_secure]')).toBe('any');
    expect(params.has('payment_method_data[card][cvc]')).toBe(false);
  });

  it('a verification is a SetupIntent; refunds name the PaymentIntent and both Payrail ids', () => {
    const verify = new Map(Wire.verifyParams({ attempt_id: 'setatt_1', merchant_id: 'acct_1', currency: 'usd', card: request.card }));
    expect(verify.get('confirm')).toBe('true');
    expect(verify.get('metadata[payrail_attempt]')).toBe('setatt_1');
    expect(Wire.refundParams('re_1', 'ch_1', 'pi_9', 500)).toEqual([
      ['payment_intent', 'pi_9'],
      ['amount', '500'],
      ['metadata[payrail_refund]', 're_1'],
      ['metadata[payrail_attempt]', 'ch_1'],
    ]);
    expect(Wire.captureParams(1500)).toContainEqual(['amount_to_capture', '1500']);
  });

  it('each operation on an id has its own Idempotency-Key, the same on every resend', () => {
    const keys = (['authorize', 'verify', 'capture', 'cancel', 'refund'] as const).map((operation) => Wire.idempotencyKey(operation, 'ch_1'));
    expect(new Set(keys).size).toBe(5);
    expect(Wire.idempotencyKey('authorize', 'ch_1')).toBe(keys[0]);
    expect(Wire.idempotencyKey('authorize', 'ch_2')).not.toBe(keys[0]);
  });

  it('the search query names the attempt, and refuses what is not an id', () => {
    expect(Wire.attemptSearchQuery('ch_1')).toBe("metadata['payrail_attempt']:'ch_1'");
    expect(() => Wire.attemptSearchQuery("ch_1' OR amount>0")).toThrow();
  });
});

describe('answers', () => {
  it('an automatic-capture PaymentIntent that succeeded is authorized and captured, with its CVC check', () => {
    expect(Wire.intentResult(intent('authorize-succeeded'))).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
  });

  it('requires_capture is authorized and not captured; requires_action asks for 3-D Secure', () => {
    expect(Wire.intentResult(intent('authorize-requires-capture'))).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
    expect(Wire.intentResult(intent('authorize-requires-action'))).toEqual({ outcome: 'requires_action' });
  });

  it("Stripe's card errors become declines with code, decline_code and the raw code kept", () => {
    const generic = cardError('authorize-declined-generic');
    expect(generic.status).toBe(402);
    expect(Wire.declineOf(generic.body.error)).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline', raw_code: 'generic_decline' });
    const funds = Wire.declineOf(cardError('authorize-declined-insufficient-funds').body.error);
    expect(funds).toEqual({
      outcome: 'declined',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
      cvc_check: 'unchecked',
      raw_code: 'insufficient_funds',
    });
    expect(Wire.declineOf(cardError('authorize-declined-incorrect-cvc').body.error)).toMatchObject({ code: 'incorrect_cvc', cvc_check: 'fail' });
  });

  it('a card code the port has no name for is a card_declined that keeps it', () => {
    expect(Wire.declineOf({ type: 'card_error', code: 'incorrect_number', message: 'Your card number is incorrect.' })).toMatchObject({
      code: 'card_declined',
      decline_code: 'incorrect_number',
      raw_code: 'incorrect_number',
    });
  });

  it('a failed PaymentIntent (as a webhook shows it) is a decline from its last_payment_error', () => {
    const declined = cardError('authorize-declined-insufficient-funds').body.error.payment_intent!;
    expect(Wire.intentResult(declined)).toMatchObject({ outcome: 'declined', decline_code: 'insufficient_funds' });
  });

  it('status inquiry: amounts captured and refunded from the charge; a canceled authorization is voided', () => {
    expect(Wire.intentStatus(intent('capture-partial'))).toMatchObject({ found: true, amount_captured: 1500, amount_refunded: 0, voided: false });
    expect(Wire.intentStatus(intent('cancel-succeeded'))).toMatchObject({ found: true, result: { outcome: 'authorized', captured: false }, voided: true });
    expect(Wire.intentStatus({ ...intent('authorize-succeeded'), status: 'processing' })).toEqual({ found: 'unknown' });
  });

  it('a PaymentIntent canceled before any authorization was never authorized', () => {
    const abandoned = { ...intent('authorize-requires-action'), status: 'canceled' as const, latest_charge: null };
    expect(Wire.intentStatus(abandoned)).toMatchObject({ found: true, result: { outcome: 'declined' }, voided: false });
  });

  it('captures report the amount captured; a PaymentIntent not succeeded is a failed capture', () => {
    expect(Wire.captureResult(intent('capture-partial'))).toEqual({ outcome: 'captured', amount_captured: 1500 });
    expect(Wire.captureResult(intent('authorize-requires-capture'))).toMatchObject({ outcome: 'failed' });
  });

  it('refunds: succeeded and pending succeed, failed and canceled fail with the reason', () => {
    const refund = recorded<StripeRefund>('refund-succeeded', 'refund').body;
    expect(refund.metadata).toMatchObject({ payrail_refund: 're_01JDRECORDED0000000000007G' });
    expect(Wire.refundResult(refund)).toEqual({ outcome: 'succeeded' });
    expect(Wire.refundResult({ ...refund, status: 'pending' })).toEqual({ outcome: 'succeeded' });
    expect(Wire.refundResult({ ...refund, status: 'failed', failure_reason: 'expired_or_canceled_card' })).toEqual({
      outcome: 'failed',
      message: "The processor's refund failed: expired_or_canceled_card.",
    });
  });

  it('a succeeded SetupIntent is a verified card', () => {
    const setup = recorded<StripeSetupIntent>('setup-succeeded', 'setup_intent').body;
    expect(Wire.setupStatus(setup)).toMatchObject({ found: true, result: { outcome: 'authorized', captured: false } });
  });

  it('search answers list PaymentIntents with the attempt in metadata', () => {
    const page = JSON.parse(readFileSync(join(here, 'stripe-wire', 'search-found.json'), 'utf8')) as { body: { object: string; data: unknown[] } };
    expect(page.body.object).toBe('search_result');
    expect(page.body.data).toHaveLength(1);
    expect(stripeSchemaProblems('payment_intent', page.body.data[0])).toEqual([]);
    expect((page.body.data[0] as StripePaymentIntent).metadata).toEqual({ payrail_attempt: 'ch_01JDRECORDED0000000000001A' });
  });
});

describe('failures', () => {
  const refusedCapture = () => cardError('capture-again-refused');

  it('402 card errors are results; 4xx Stripe refused before acting are "refused", naming only status, type and code', () => {
    expect(classifyFailure(402, cardError('authorize-declined-generic').body).kind).toBe('card_error');
    const refused = classifyFailure(400, refusedCapture().body);
    expect(refused).toEqual({ kind: 'refused', status: 400, type: 'invalid_request_error', code: 'payment_intent_unexpected_state' });
    expect(describeFailure(refused)).toBe('400 invalid_request_error/payment_intent_unexpected_state');
    for (const status of [401, 403, 404, 429]) expect(classifyFailure(status, { error: { type: 'invalid_request_error' } }).kind).toBe('refused');
  });

  it('5xx, 409 and idempotency errors leave the outcome unknown', () => {
    expect(classifyFailure(500, { error: { type: 'api_error' } }).kind).toBe('unknown');
    expect(classifyFailure(502, null).kind).toBe('unknown');
    expect(classifyFailure(409, { error: { type: 'idempotency_error' } }).kind).toBe('unknown');
    expect(
      classifyFailure(400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters' } }).kind,
    ).toBe('unknown');
  });

  it("a description never repeats Stripe's message, which may quote parameters", () => {
    const leaky = { error: { type: 'invalid_request_error', code: 'parameter_invalid', message: 'Invalid card number 4242424242424242' } };
    expect(describeFailure(classifyFailure(400, leaky))).not.toContain('4242');
  });
});

describe('connector account credentials', () => {
  const valid = { secret_key: 'sk_test_processorKey0001', webhook_secret: 'whsec_signingSecret_0001' };

  it("Stripe's own API is the default; another server speaking it may be named; both secrets are secret fields", () => {
    expect(stripeFactory.credentials.parse(valid)).toEqual({ ...valid, base_url: 'https://api.stripe.com' });
    expect(stripeFactory.credentials.parse({ ...valid, base_url: 'http://127.0.0.1:4242' })).toMatchObject({ base_url: 'http://127.0.0.1:4242' });
    expect([...stripeFactory.secret_fields].sort()).toEqual(['secret_key', 'webhook_secret']);
  });

  it('refuses unknown fields, keys that are not Stripe keys and URLs that are not http(s)', () => {
    for (const bad of [
      { ...valid, region: 'eu' },
      { ...valid, secret_key: 'pk_test_publishable0001' },
      { ...valid, webhook_secret: 'secret' },
      { ...valid, base_url: 'file:///etc/passwd' },
      { secret_key: valid.secret_key },
    ]) {
      expect(stripeFactory.credentials.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('the time in an id', () => {
  it('is the time the id was made, also inside a longer per-try id; none in what is not an id', () => {
    const made_ms = 1_796_157_600_123;
    const id = new UlidGenerator(new ManualClock(made_ms)).next('charge');
    expect(idTimeMs(id)).toBe(made_ms);
    expect(idTimeMs(`${id}_2`)).toBe(made_ms);
    expect(idTimeMs('ch_1')).toBeNull();
    expect(idTimeMs('ch_01JDRECORDED0000000000001A')).toBeNull();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stripeDeclineFor } from '../../src/services/connectors/domain/adyen-refusals.js';
import {
  authorizeAnswer,
  errorAnswer,
  idempotencyKey,
  modificationAnswer,
  paymentRequestBody,
  threeDsDetailsBody,
} from '../../src/services/connectors/domain/adyen-transform.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';

/**
 * The Adyen connector's pure transformers, fed recorded wire examples (test/unit/adyen-wire/*.json,
 * shaped as Adyen's API reference shows its answers): the request bodies Payrail sends, and what each
 * answer means in the port's (Stripe's) words.
 */

const wire = (name: string): unknown => JSON.parse(readFileSync(new URL(`./adyen-wire/${name}.json`, import.meta.url), 'utf8')) as unknown;

const request: AuthorizeRequest = {
  attempt_id: 'ch_01HZADYENREQUEST000000001',
  merchant_id: 'acct_1',
  amount: 1_999,
  currency: 'eur',
  card: { number: '4111111145551142', exp_month: 3, exp_year: 2030, cvc: '737' },
  capture: true,
};

describe('AuthorizeRequest -> POST /payments', () => {
  it('sends plain card fields, the amount in minor units, Payrail id as reference, automatic capture', () => {
    expect(paymentRequestBody(request, 'PayrailECOM')).toEqual({
      merchantAccount: 'PayrailECOM',
      reference: 'ch_01HZADYENREQUEST000000001',
      amount: { value: 1_999, currency: 'EUR' },
      paymentMethod: { type: 'scheme', number: '4111111145551142', expiryMonth: '03', expiryYear: '2030', cvc: '737' },
      shopperInteraction: 'Ecommerce',
      captureDelayHours: 0,
      metadata: { payrail_capture: 'true' },
    });
  });

  it('asks for manual capture, off-session (stored card, no CVC) and 3-D Secure as Adyen names them', () => {
    const manual = paymentRequestBody({ ...request, capture: false, three_d_secure: true }, 'M');
    expect(manual).toMatchObject({
      additionalData: { manualCapture: 'true' },
      authenticationData: { attemptAuthentication: 'always' },
      metadata: { payrail_capture: 'false' },
    });
    expect(manual).not.toHaveProperty('captureDelayHours');
    const off_session = paymentRequestBody({ ...request, off_session: true, three_d_secure: true, card: { ...request.card, cvc: undefined } }, 'M');
    expect(off_session).toMatchObject({ shopperInteraction: 'ContAuth', recurringProcessingModel: 'UnscheduledCardOnFile' });
    expect(off_session.paymentMethod).not.toHaveProperty('cvc');
    expect(off_session).not.toHaveProperty('authenticationData');
  });
});

describe('Adyen /payments answers -> AuthorizeResult', () => {
  it.each([
    ['payment-authorised', true, { outcome: 'authorized', captured: true, cvc_check: 'pass' }],
    ['payment-authorised', false, { outcome: 'authorized', captured: false, cvc_check: 'pass' }],
    ['payment-refused', true, { outcome: 'declined', code: 'card_declined', decline_code: 'generic_decline', raw_code: '2', cvc_check: 'unchecked' }],
    ['payment-refused-not-enough-balance', true, { outcome: 'declined', code: 'card_declined', decline_code: 'insufficient_funds', raw_code: '12' }],
    ['payment-refused-lost-card', true, { outcome: 'declined', code: 'card_declined', decline_code: 'lost_card', raw_code: '5' }],
    ['payment-refused-cvc', true, { outcome: 'declined', code: 'incorrect_cvc', decline_code: 'incorrect_cvc', cvc_check: 'fail', raw_code: '24' }],
    ['payment-error', true, { outcome: 'declined', code: 'processing_error', decline_code: 'processing_error', raw_code: '4' }],
    ['payment-challenge-shopper', true, { outcome: 'requires_action' }],
  ] as const)('%s (capture %s)', (name, capture, expected) => {
    const answer = authorizeAnswer(200, wire(name), capture);
    expect(answer.kind).toBe('result');
    expect(answer.kind === 'result' && answer.result).toEqual(expect.objectContaining(expected));
  });

  it('keeps the pspReference, and the authorisation token of a challenge', () => {
    expect(authorizeAnswer(200, wire('payment-authorised'), true)).toMatchObject({ psp_reference: '993617895204576J', authorisation_token: null });
    expect(authorizeAnswer(200, wire('payment-challenge-shopper'), true)).toMatchObject({
      psp_reference: null,
      authorisation_token: 'Ab02b4c0!BQABAgCW5sxB4e/==',
    });
  });

  it('Received is no outcome yet: unknown, never a decline', () => {
    expect(authorizeAnswer(200, wire('payment-received'), true)).toEqual({ kind: 'unknown', reason: 'Adyen answered resultCode Received' });
  });

  it('a 200 whose body is not a payment response is unknown', () => {
    expect(authorizeAnswer(200, null, true).kind).toBe('unknown');
    expect(authorizeAnswer(200, { resultCode: 42 }, true).kind).toBe('unknown');
  });

  it('a validation error is a decline that moved no money, with Adyen error code kept', () => {
    expect(authorizeAnswer(422, wire('error-invalid-card-number'), true)).toMatchObject({
      kind: 'result',
      result: { outcome: 'declined', code: 'card_declined', decline_code: 'incorrect_number', raw_code: '101' },
    });
  });
});

describe('Adyen errors: processed or not', () => {
  it.each([
    [401, 'error-unauthorized', 'not_processed'],
    [403, null, 'not_processed'],
    [404, null, 'not_processed'],
    [500, 'error-internal', 'unknown'],
    [502, null, 'unknown'],
    [422, 'error-in-progress', 'unknown'],
    [422, 'error-invalid-card-number', 'refused'],
    [400, null, 'refused'],
  ] as const)('%i %s is %s', (status, name, kind) => {
    expect(errorAnswer(status, name === null ? null : wire(name)).kind).toBe(kind);
  });
});

describe('modifications', () => {
  it('201 received carries the modification pspReference', () => {
    expect(modificationAnswer(201, wire('capture-received'))).toEqual({ kind: 'received', psp_reference: 'JDD6LKT8MBLZNN84' });
    expect(modificationAnswer(201, wire('cancel-received'))).toEqual({ kind: 'received', psp_reference: 'JDD6LKT8MBLZNN84' });
  });

  it('a refused modification keeps the message; a 201 of another shape is unknown', () => {
    expect(
      modificationAnswer(422, { status: 422, errorCode: '167', message: 'Original pspReference required for this operation', errorType: 'validation' }),
    ).toEqual({
      kind: 'refused',
      error_code: '167',
      message: 'Original pspReference required for this operation',
    });
    expect(modificationAnswer(201, { status: 'done' }).kind).toBe('unknown');
  });
});

describe('refusal reasons in Stripe words', () => {
  it.each([
    ['9', undefined, 'issuer_not_available'],
    ['6', undefined, 'expired_card'],
    ['38', undefined, 'authentication_required'],
    ['5', '43 : STOLEN CARD', 'stolen_card'],
    ['999', undefined, 'generic_decline'],
    [undefined, undefined, 'generic_decline'],
  ])('refusalReasonCode %s (raw %s) is %s', (code, raw, decline_code) => {
    expect(stripeDeclineFor(code, raw).decline_code).toBe(decline_code);
  });
});

describe('idempotency keys', () => {
  it('one per operation and Payrail id, within Adyen 64 characters even for a long id', () => {
    expect(idempotencyKey('authorise', 'ch_1')).toBe('payrail-authorise-ch_1');
    expect(idempotencyKey('capture', 'ch_1')).not.toBe(idempotencyKey('authorise', 'ch_1'));
    const long = `ch_${'x'.repeat(80)}`;
    expect(idempotencyKey('technical-cancel', long).length).toBeLessThanOrEqual(64);
    expect(idempotencyKey('technical-cancel', long)).not.toBe(idempotencyKey('technical-cancel', `${long}y`));
  });
});

it('the 3DS2 result for /payments/details is Base64 JSON with the transaction status', () => {
  const { details } = threeDsDetailsBody('AT1', false);
  expect(JSON.parse(Buffer.from(details.threeDSResult, 'base64').toString('utf8'))).toEqual({ transStatus: 'N', authorisationToken: 'AT1' });
});

import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyAdyenNotification } from '../../src/services/connectors/domain/adyen-notifications.js';
import type { AdyenSimulator } from '../../src/simulators/adyen/server.js';
import { startAdyenSimulator } from '../../src/simulators/adyen/server.js';
import { ADYEN_API_KEY, ADYEN_HMAC_KEY, ADYEN_MERCHANT_ACCOUNT, eventually } from '../support/adyen.js';

/**
 * The Adyen simulator over HTTP, as any Adyen client sees it: authentication, Adyen's error bodies,
 * Idempotency-Key semantics, 201 "received" modifications, the control endpoints of a run started
 * from the command line, and signed notifications retried until a receiver answers [accepted].
 */

let simulator: AdyenSimulator;
const received: Array<{ body: Buffer; answered: string }> = [];
let answer = '[accepted]';
const receiver = Fastify();
receiver.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
receiver.post('/hook', async (request) => {
  received.push({ body: request.body as Buffer, answered: answer });
  return answer;
});

beforeAll(async () => {
  const hook = await receiver.listen({ host: '127.0.0.1', port: 0 });
  simulator = await startAdyenSimulator({
    api_key: ADYEN_API_KEY,
    hmac_key_hex: ADYEN_HMAC_KEY,
    merchant_accounts: [ADYEN_MERCHANT_ACCOUNT],
    notification_url: `${hook}/hook`,
    notification_retry_ms: [50, 50, 50],
  });
});
afterAll(async () => {
  await simulator?.close();
  await receiver.close();
});
beforeEach(() => {
  answer = '[accepted]';
  simulator.faults.clear();
});

async function call(path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST') {
  const response = await fetch(`${simulator.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': ADYEN_API_KEY, ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

let sequence = 0;
const payment = (overrides: Record<string, unknown> = {}) => ({
  merchantAccount: ADYEN_MERCHANT_ACCOUNT,
  reference: `order-${(sequence += 1)}`,
  amount: { value: 1_000, currency: 'EUR' },
  paymentMethod: { type: 'scheme', number: '4111111145551142', expiryMonth: '03', expiryYear: '2030', cvc: '737' },
  additionalData: { manualCapture: 'true' },
  ...overrides,
});

const itemsFor = (reference: string) =>
  received
    .flatMap(
      ({ body }) => (JSON.parse(body.toString()) as { notificationItems: Array<{ NotificationRequestItem: Record<string, unknown> }> }).notificationItems,
    )
    .map((entry) => entry.NotificationRequestItem)
    .filter((item) => item['merchantReference'] === reference);

describe('the API surface', () => {
  it('refuses a missing or wrong API key with Adyen security error', async () => {
    const wrong = await call('/v71/payments', payment(), { 'x-api-key': 'wrong' });
    expect(wrong).toMatchObject({
      status: 401,
      body: { status: 401, errorCode: '000', message: 'HTTP Status Response - Unauthorized', errorType: 'security' },
    });
  });

  it('names a pspReference in a validation error, as Adyen does', async () => {
    const invalid = await call(
      '/v71/payments',
      payment({ paymentMethod: { type: 'scheme', number: '4111111145551143', expiryMonth: '03', expiryYear: '2030' } }),
    );
    expect(invalid).toMatchObject({ status: 422, body: { status: 422, errorCode: '101', message: 'Invalid card number', errorType: 'validation' } });
    expect(invalid.body['pspReference']).toMatch(/^[0-9A-Z]{16}$/);
  });

  it('answers unreadable JSON 400 and an unknown path 404, in Adyen shape', async () => {
    expect(await call('/v71/payments', '{"amount":')).toMatchObject({ status: 400, body: { status: 400, errorCode: '702', errorType: 'validation' } });
    expect((await call('/v71/nothing', {})).status).toBe(404);
  });

  it('replays the first answer for a repeated Idempotency-Key, and echoes the key', async () => {
    const body = payment();
    const first = await call('/v71/payments', body, { 'idempotency-key': `key-${body.reference}` });
    const again = await call('/v71/payments', { ...body, amount: { value: 5, currency: 'EUR' } }, { 'idempotency-key': `key-${body.reference}` });
    expect(first).toMatchObject({ status: 200, body: { resultCode: 'Authorised', merchantReference: body.reference } });
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotency-key')).toBe(`key-${body.reference}`);
    expect(simulator.authorizationCount(body.reference)).toBe(1);
    expect((await call('/v71/payments', payment(), { 'idempotency-key': 'k'.repeat(65) })).status).toBe(422);
  });

  it('captures, refunds and cancels answer 201 received; the outcome comes by notification', async () => {
    const body = payment();
    const { body: authorised } = await call('/v71/payments', body);
    const psp = authorised['pspReference'] as string;
    const capture = await call(`/v71/payments/${psp}/captures`, {
      merchantAccount: ADYEN_MERCHANT_ACCOUNT,
      amount: { value: 2_000, currency: 'EUR' },
      reference: body.reference,
    });
    expect(capture).toMatchObject({ status: 201, body: { status: 'received', paymentPspReference: psp, merchantAccount: ADYEN_MERCHANT_ACCOUNT } });
    const items = await eventually(() => {
      const found = itemsFor(body.reference);
      return found.length === 2 && found;
    });
    expect(items.map((item) => [item['eventCode'], item['success']])).toEqual([
      ['AUTHORISATION', 'true'],
      ['CAPTURE', 'false'],
    ]);
    expect(items[1]).toMatchObject({ originalReference: psp, reason: 'Invalid amount' });
    for (const { body: raw } of received) {
      expect(verifyAdyenNotification(raw, { merchant_account: ADYEN_MERCHANT_ACCOUNT, hmac_key_hex: ADYEN_HMAC_KEY, merchant_id: 'm' }).ok).toBe(true);
    }
    expect(
      await call('/v71/payments/NOSUCHPAYMENT000/refunds', { merchantAccount: ADYEN_MERCHANT_ACCOUNT, amount: { value: 1, currency: 'EUR' } }),
    ).toMatchObject({
      status: 422,
      body: { errorCode: '167' },
    });
  });

  it('a technical cancel of a reference never paid keeps any later payment under it from being made', async () => {
    const body = payment();
    const cancel = await call('/v71/cancels', { merchantAccount: ADYEN_MERCHANT_ACCOUNT, paymentReference: body.reference, reference: body.reference });
    expect(cancel).toMatchObject({ status: 201, body: { status: 'received', paymentReference: body.reference } });
    expect((await call('/v71/payments', body)).body).toMatchObject({ resultCode: 'Cancelled', refusalReason: 'Cancelled', refusalReasonCode: '15' });
  });
});

describe('controls for a run started from the command line', () => {
  it('sets faults over HTTP and refuses settings it does not know', async () => {
    expect((await call('/_simulator/faults', { next: [{ endpoint: 'payments', kind: 'error_before', status: 503 }] })).status).toBe(200);
    expect(await call('/v71/payments', payment())).toMatchObject({ status: 503, body: { status: 503, errorType: 'internal' } });
    expect((await call('/v71/payments', payment())).status).toBe(200);
    expect(await call('/_simulator/faults', { latency: 5 })).toMatchObject({ status: 422, body: { errorType: 'validation' } });
  });

  it('raises a chargeback on a captured payment, and reads a reference', async () => {
    const body = payment({ additionalData: {} });
    const psp = (await call('/v71/payments', body)).body['pspReference'] as string;
    expect((await call(`/_simulator/payments/${psp}/chargeback`, { event: 'NOTIFICATION_OF_CHARGEBACK', reason_code: '13.1' })).status).toBe(200);
    const items = await eventually(() => {
      const found = itemsFor(body.reference);
      return found.length === 2 && found;
    });
    expect(items[1]).toMatchObject({ eventCode: 'NOTIFICATION_OF_CHARGEBACK', originalReference: psp, additionalData: { chargebackReasonCode: '13.1' } });
    expect((await call(`/_simulator/references/${body.reference}`, undefined, {}, 'GET')).body).toMatchObject({ authorizations: 1 });
  });
});

it('sends a notification again until the answer is [accepted]', async () => {
  answer = 'ok';
  const body = payment();
  await call('/v71/payments', body);
  await eventually(() => itemsFor(body.reference).length === 2);
  answer = '[accepted]';
  // The simulator records a delivery once it has read the answer: wait for the accepted one there.
  const attempts = await eventually(() => {
    const mine = simulator.notifier.deliveries.filter((delivery) => delivery.merchantReference === body.reference);
    return mine.at(-1)?.accepted === true && mine;
  });
  expect(attempts.slice(0, -1).every((delivery) => !delivery.accepted)).toBe(true);
  expect(attempts.length).toBeGreaterThanOrEqual(3);
});

import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';

/**
 * Bad input never reaches storage and never becomes a 500: every rejection is a 4xx in Stripe's error
 * shape, naming the parameter at fault, and the SDK raises the matching error class.
 */

let t: TestPlatform;
let succeeded_intent: string;
let open_intent: string;
let customer: string;

beforeAll(async () => {
  t = await startTestPlatform();
  succeeded_intent = (await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true })).id;
  open_intent = (await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd' })).id;
  customer = (await t.stripe.customers.create({ email: 'a@example.com' })).id;
});
afterAll(async () => {
  await t?.stop();
});

interface Sent {
  method?: string;
  path: string;
  form?: string;
  json?: string;
  headers?: Record<string, string>;
  key?: string | null;
}

interface Answer {
  status: number;
  body: { error?: { type?: unknown; code?: unknown; message?: unknown; param?: unknown } } & Record<string, unknown>;
  headers: Headers;
}

async function send(request: Sent): Promise<Answer> {
  const headers: Record<string, string> = { ...request.headers };
  const key = request.key === undefined ? t.secret_key : request.key;
  if (key !== null) headers.authorization ??= `Bearer ${key}`;
  let body: string | undefined;
  if (request.form !== undefined) {
    body = request.form;
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (request.json !== undefined) {
    body = request.json;
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(t.url + request.path, {
    method: request.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Answer['body'], headers: response.headers };
}

const ERROR_TYPES = ['api_error', 'card_error', 'idempotency_error', 'invalid_request_error'];

/** Stripe's error shape: `{error: {type, code, message, param?}}`, and never a server error. */
function expectError(answer: Answer, status: number, code: string, param?: string): void {
  const shown = JSON.stringify(answer.body).slice(0, 400);
  expect(answer.status, shown).toBe(status);
  const error = answer.body.error;
  expect(error, shown).toBeDefined();
  expect(ERROR_TYPES).toContain(error?.type);
  expect(error?.code).toBe(code);
  expect(typeof error?.message).toBe('string');
  expect(String(error?.message).length).toBeGreaterThan(0);
  if (param !== undefined) expect(error?.param).toBe(param);
  expect(answer.headers.get('request-id')).toMatch(/^req_/);
}

const TABLES = [
  'payments.payment_intents',
  'payments.charges',
  'payments.refunds',
  'payments.customers',
  'vault.payment_methods',
  'vault.detokenizations',
  'events.outbox',
  'gateway.idempotency_keys',
];

/** Row counts and a digest of every row of every table a request could write. */
async function storeDigest(): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of TABLES) {
    const result = await t.owner.query<{ n: number; md5: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS md5 FROM ${table} r`,
    );
    digest[table] = `${result.rows[0]?.n}:${result.rows[0]?.md5}`;
  }
  return digest;
}

/** Sends a bad request, checks the error, and that nothing stored changed. */
async function rejects(request: Sent, status: number, code: string, param?: string): Promise<Answer> {
  const before = await storeDigest();
  const answer = await send(request);
  expectError(answer, status, code, param);
  expect(await storeDigest()).toEqual(before);
  return answer;
}

const form = (fields: Record<string, string | number>) => new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
const intentForm = (extra: Record<string, string | number> = {}) => form({ amount: 1000, currency: 'usd', ...extra });
const metadataForm = (entries: Array<[string, string]>) => entries.map(([k, v]) => `metadata[${encodeURIComponent(k)}]=${encodeURIComponent(v)}`).join('&');
const cardForm = (card: Record<string, string>, extra = '') =>
  `type=card&${Object.entries(card)
    .map(([k, v]) => `card[${k}]=${encodeURIComponent(v)}`)
    .join('&')}${extra}`;
const VISA = { number: '4242424242424242', exp_month: '12', exp_year: '2034', cvc: '123' };

describe('POST /v1/payment_intents rejects bad parameters', () => {
  const cases: Array<[string, Sent, number, string, string | undefined]> = [
    ['non-numeric amount', { path: '/v1/payment_intents', form: intentForm({ amount: 'abc' }) }, 400, 'parameter_invalid_integer', 'amount'],
    ['fractional amount', { path: '/v1/payment_intents', form: intentForm({ amount: '12.5' }) }, 400, 'parameter_invalid_integer', 'amount'],
    ['negative amount', { path: '/v1/payment_intents', form: intentForm({ amount: -100 }) }, 400, 'parameter_invalid_integer', 'amount'],
    ['amount above the maximum', { path: '/v1/payment_intents', form: intentForm({ amount: '100000000000' }) }, 400, 'amount_too_large', 'amount'],
    ['amount in exponent notation', { path: '/v1/payment_intents', form: intentForm({ amount: '1e30' }) }, 400, 'parameter_invalid_integer', 'amount'],
    ['JSON amount 1e30', { path: '/v1/payment_intents', json: '{"amount":1e30,"currency":"usd"}' }, 400, 'parameter_invalid_integer', 'amount'],
    ['JSON amount as a float', { path: '/v1/payment_intents', json: '{"amount":12.5,"currency":"usd"}' }, 400, 'parameter_invalid_integer', 'amount'],
    ['amount given twice', { path: '/v1/payment_intents', form: 'amount=1000&amount=2000&currency=usd' }, 400, 'parameter_invalid_integer', 'amount'],
    ['amount below the currency minimum', { path: '/v1/payment_intents', form: intentForm({ amount: 10 }) }, 400, 'amount_too_small', 'amount'],
    ['amount below the GBP minimum', { path: '/v1/payment_intents', form: intentForm({ amount: 29, currency: 'gbp' }) }, 400, 'amount_too_small', 'amount'],
    ['unknown currency', { path: '/v1/payment_intents', form: intentForm({ currency: 'xyz' }) }, 400, 'currency_invalid', 'currency'],
    ['missing currency', { path: '/v1/payment_intents', form: form({ amount: 1000 }) }, 400, 'parameter_missing', 'currency'],
    ['missing amount', { path: '/v1/payment_intents', form: form({ currency: 'usd' }) }, 400, 'parameter_missing', 'amount'],
    ['empty body', { path: '/v1/payment_intents', form: '' }, 400, 'parameter_missing', 'amount'],
    ['non-boolean confirm', { path: '/v1/payment_intents', form: intentForm({ confirm: 'maybe' }) }, 400, 'parameter_invalid', 'confirm'],
    ['unknown capture_method', { path: '/v1/payment_intents', form: intentForm({ capture_method: 'sometimes' }) }, 400, 'parameter_invalid', 'capture_method'],
    ['unknown parameter', { path: '/v1/payment_intents', form: intentForm({ foo: 'bar' }) }, 400, 'parameter_unknown', 'foo'],
    ['unknown nested parameter', { path: '/v1/payment_intents', form: `${intentForm()}&amount_details[foo]=1` }, 400, 'parameter_unknown', 'amount_details'],
    ['empty payment_method', { path: '/v1/payment_intents', form: intentForm({ payment_method: '' }) }, 400, 'parameter_invalid_empty', 'payment_method'],
    [
      'unknown payment_method',
      { path: '/v1/payment_intents', form: intentForm({ payment_method: 'pm_nope', confirm: 'true' }) },
      404,
      'resource_missing',
      'payment_method',
    ],
    ['unknown customer', { path: '/v1/payment_intents', form: intentForm({ customer: 'cus_nope' }) }, 404, 'resource_missing', 'customer'],
    [
      '51 metadata keys',
      { path: '/v1/payment_intents', form: `${intentForm()}&${metadataForm(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']))}` },
      400,
      'metadata_invalid',
      'metadata',
    ],
    [
      '41-character metadata key',
      { path: '/v1/payment_intents', form: `${intentForm()}&${metadataForm([['k'.repeat(41), 'v']])}` },
      400,
      'metadata_invalid',
      'metadata',
    ],
    [
      '501-character metadata value',
      { path: '/v1/payment_intents', form: `${intentForm()}&${metadataForm([['k', 'v'.repeat(501)]])}` },
      400,
      'metadata_invalid',
      'metadata',
    ],
    ['nested metadata value', { path: '/v1/payment_intents', form: `${intentForm()}&metadata[a][b]=c` }, 400, 'metadata_invalid', 'metadata'],
    ['NUL in a description', { path: '/v1/payment_intents', form: `${intentForm()}&description=a%00b` }, 400, 'parameter_invalid', 'description'],
    ['NUL in a metadata value', { path: '/v1/payment_intents', form: `${intentForm()}&metadata[a]=%00` }, 400, 'metadata_invalid', 'metadata'],
    ['NUL in a metadata key', { path: '/v1/payment_intents', form: `${intentForm()}&metadata[%00]=a` }, 400, 'metadata_invalid', 'metadata'],
    [
      'NUL in a payment_method id',
      { path: '/v1/payment_intents', form: intentForm({ payment_method: 'pm_\u0000' }) },
      400,
      'parameter_invalid',
      'payment_method',
    ],
    [
      'unpaired surrogate in a JSON description',
      { path: '/v1/payment_intents', json: '{"amount":1000,"currency":"usd","description":"\\ud800"}' },
      400,
      'parameter_invalid',
      'description',
    ],
    [
      'unpaired surrogate in JSON metadata',
      { path: '/v1/payment_intents', json: '{"amount":1000,"currency":"usd","metadata":{"a":"\\udc00"}}' },
      400,
      'metadata_invalid',
      'metadata',
    ],
    [
      'NUL escape in JSON',
      { path: '/v1/payment_intents', json: '{"amount":1000,"currency":"usd","customer":"cus_\\u0000"}' },
      400,
      'parameter_invalid',
      'customer',
    ],
    ['malformed JSON', { path: '/v1/payment_intents', json: '{"amount": 1000, "currency": ' }, 400, 'body_invalid', undefined],
    ['a JSON array body', { path: '/v1/payment_intents', json: '[{"amount":1000}]' }, 400, 'body_invalid', undefined],
    ['a JSON string body', { path: '/v1/payment_intents', json: '"amount=1000"' }, 400, 'body_invalid', undefined],
    ['a JSON null body', { path: '/v1/payment_intents', json: 'null' }, 400, 'body_invalid', undefined],
    [
      'form nesting beyond the depth limit',
      { path: '/v1/payment_intents', form: `${intentForm()}&metadata[a][b][c][d][e][f][g]=1` },
      400,
      'body_invalid',
      undefined,
    ],
    ['a body over 256 KiB', { path: '/v1/payment_intents', form: `${intentForm()}&description=${'x'.repeat(300 * 1024)}` }, 413, 'body_too_large', undefined],
    ['text/plain', { path: '/v1/payment_intents', form: intentForm(), headers: { 'content-type': 'text/plain' } }, 415, 'content_type_unsupported', undefined],
    [
      'application/xml',
      { path: '/v1/payment_intents', form: '<amount>1000</amount>', headers: { 'content-type': 'application/xml' } },
      415,
      'content_type_unsupported',
      undefined,
    ],
    [
      'multipart/form-data',
      { path: '/v1/payment_intents', form: intentForm(), headers: { 'content-type': 'multipart/form-data; boundary=x' } },
      415,
      'content_type_unsupported',
      undefined,
    ],
    [
      'a 256-character Idempotency-Key',
      { path: '/v1/payment_intents', form: intentForm(), headers: { 'idempotency-key': 'k'.repeat(256) } },
      400,
      'idempotency_key_invalid',
      'Idempotency-Key',
    ],
  ];
  it.each(cases)('%s', async (_name, request, status, code, param) => {
    await rejects(request, status, code, param);
  });

  it('accepts a 255-character Idempotency-Key and echoes it', async () => {
    const key = 'k'.repeat(255);
    const answer = await send({ path: '/v1/payment_intents', form: intentForm(), headers: { 'idempotency-key': key } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('idempotency-key')).toBe(key);
  });
});

describe('other writes reject bad parameters', () => {
  const cases: Array<[string, () => Sent, number, string, string | undefined]> = [
    [
      'update: non-numeric amount',
      () => ({ path: `/v1/payment_intents/${open_intent}`, form: form({ amount: 'abc' }) }),
      400,
      'parameter_invalid_integer',
      'amount',
    ],
    ['update: amount below the minimum', () => ({ path: `/v1/payment_intents/${open_intent}`, form: form({ amount: 1 }) }), 400, 'amount_too_small', 'amount'],
    ['update: unknown currency', () => ({ path: `/v1/payment_intents/${open_intent}`, form: form({ currency: 'xyz' }) }), 400, 'currency_invalid', 'currency'],
    ['update: unknown parameter', () => ({ path: `/v1/payment_intents/${open_intent}`, form: form({ confirm: 'true' }) }), 400, 'parameter_unknown', 'confirm'],
    [
      'confirm: unknown payment_method',
      () => ({ path: `/v1/payment_intents/${open_intent}/confirm`, form: form({ payment_method: 'pm_nope' }) }),
      404,
      'resource_missing',
      'payment_method',
    ],
    [
      'confirm: a succeeded intent',
      () => ({ path: `/v1/payment_intents/${succeeded_intent}/confirm`, form: '' }),
      400,
      'payment_intent_unexpected_state',
      undefined,
    ],
    [
      'capture: non-numeric amount_to_capture',
      () => ({ path: `/v1/payment_intents/${succeeded_intent}/capture`, form: form({ amount_to_capture: 'abc' }) }),
      400,
      'parameter_invalid_integer',
      'amount_to_capture',
    ],
    [
      'cancel: unknown cancellation_reason',
      () => ({ path: `/v1/payment_intents/${open_intent}/cancel`, form: form({ cancellation_reason: 'bored' }) }),
      400,
      'parameter_invalid',
      'cancellation_reason',
    ],
    ['refund: no charge or payment_intent', () => ({ path: '/v1/refunds', form: form({ amount: 100 }) }), 400, 'parameter_missing', 'charge'],
    [
      'refund: both charge and payment_intent',
      () => ({ path: '/v1/refunds', form: form({ charge: 'ch_x', payment_intent: succeeded_intent }) }),
      400,
      'parameters_exclusive',
      'payment_intent',
    ],
    [
      'refund: non-numeric amount',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, amount: 'abc' }) }),
      400,
      'parameter_invalid_integer',
      'amount',
    ],
    [
      'refund: negative amount',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, amount: -1 }) }),
      400,
      'parameter_invalid_integer',
      'amount',
    ],
    [
      'refund: zero amount',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, amount: 0 }) }),
      400,
      'parameter_invalid_integer',
      'amount',
    ],
    [
      'refund: more than was charged',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, amount: 2001 }) }),
      400,
      'amount_too_large',
      'amount',
    ],
    [
      'refund: huge amount',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, amount: '1e30' }) }),
      400,
      'parameter_invalid_integer',
      'amount',
    ],
    [
      'refund: unknown reason',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, reason: 'because' }) }),
      400,
      'parameter_invalid',
      'reason',
    ],
    [
      'refund: unknown parameter',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: succeeded_intent, foo: 'bar' }) }),
      400,
      'parameter_unknown',
      'foo',
    ],
    ['refund: unknown charge', () => ({ path: '/v1/refunds', form: form({ charge: 'ch_nope' }) }), 404, 'resource_missing', 'charge'],
    ['refund: unknown payment_intent', () => ({ path: '/v1/refunds', form: form({ payment_intent: 'pi_nope' }) }), 404, 'resource_missing', 'payment_intent'],
    [
      'refund: an intent without a charge',
      () => ({ path: '/v1/refunds', form: form({ payment_intent: open_intent }) }),
      400,
      'charge_not_captured',
      'payment_intent',
    ],
    ['customer: unknown parameter', () => ({ path: '/v1/customers', form: form({ foo: 'bar' }) }), 400, 'parameter_unknown', 'foo'],
    ['customer: email as a list', () => ({ path: '/v1/customers', form: 'email[]=a@example.com' }), 400, 'parameter_invalid', 'email'],
    ['customer: name too long', () => ({ path: '/v1/customers', form: form({ name: 'n'.repeat(257) }) }), 400, 'parameter_invalid', 'name'],
    ['customer: NUL in email', () => ({ path: '/v1/customers', form: 'email=a%00@example.com' }), 400, 'parameter_invalid', 'email'],
    [
      'customer: 51 metadata keys',
      () => ({ path: '/v1/customers', form: metadataForm(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }),
      400,
      'metadata_invalid',
      'metadata',
    ],
    ['customer update: unknown customer', () => ({ path: '/v1/customers/cus_nope', form: form({ name: 'x' }) }), 404, 'resource_missing', undefined],
    ['customer update: unknown parameter', () => ({ path: `/v1/customers/${customer}`, form: form({ colour: 'blue' }) }), 400, 'parameter_unknown', 'colour'],
    [
      'payment method: unknown type',
      () => ({ path: '/v1/payment_methods', form: cardForm(VISA).replace('type=card', 'type=bank') }),
      400,
      'parameter_invalid',
      'type',
    ],
    ['payment method: missing type', () => ({ path: '/v1/payment_methods', form: cardForm(VISA).replace('type=card&', '') }), 400, 'parameter_missing', 'type'],
    ['payment method: missing card', () => ({ path: '/v1/payment_methods', form: 'type=card' }), 400, 'parameter_missing', 'card'],
    ['payment method: card as a string', () => ({ path: '/v1/payment_methods', form: 'type=card&card=4242424242424242' }), 400, 'parameter_invalid', 'card'],
    [
      'payment method: unknown card field',
      () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, foo: 'bar' }) }),
      400,
      'parameter_unknown',
      'card[foo]',
    ],
    [
      'payment method: missing card number',
      () => ({ path: '/v1/payment_methods', form: cardForm({ exp_month: '12', exp_year: '2034' }) }),
      400,
      'parameter_missing',
      'card[number]',
    ],
    [
      'payment method: number failing Luhn',
      () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, number: '4242424242424241' }) }),
      402,
      'incorrect_number',
      'card[number]',
    ],
    [
      'payment method: number with letters',
      () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, number: '4242abcd42424242' }) }),
      402,
      'invalid_number',
      'card[number]',
    ],
    [
      'payment method: expiry month 13',
      () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, exp_month: '13' }) }),
      402,
      'invalid_expiry_month',
      'card[exp_month]',
    ],
    [
      'payment method: expiry year in the past',
      () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, exp_year: '2001' }) }),
      402,
      'invalid_expiry_year',
      'card[exp_year]',
    ],
    ['payment method: two-digit cvc', () => ({ path: '/v1/payment_methods', form: cardForm({ ...VISA, cvc: '12' }) }), 402, 'invalid_cvc', 'card[cvc]'],
    [
      'payment method: unknown address field',
      () => ({ path: '/v1/payment_methods', form: cardForm(VISA, '&billing_details[address][planet]=mars') }),
      400,
      'parameter_unknown',
      'billing_details[address][planet]',
    ],
    [
      'payment method: NUL in an address line',
      () => ({ path: '/v1/payment_methods', form: cardForm(VISA, '&billing_details[address][line1]=%00') }),
      400,
      'parameter_invalid',
      'billing_details[address][line1]',
    ],
    [
      'payment method: JSON card number too large to be exact',
      () => ({ path: '/v1/payment_methods', json: '{"type":"card","card":{"number":42424242424242424242,"exp_month":12,"exp_year":2034}}' }),
      402,
      'invalid_number',
      'card[number]',
    ],
    [
      'attach: unknown customer',
      () => ({ path: '/v1/payment_methods/pm_card_visa/attach', form: form({ customer: 'cus_nope' }) }),
      404,
      'resource_missing',
      'customer',
    ],
    ['attach: missing customer', () => ({ path: '/v1/payment_methods/pm_card_visa/attach', form: '' }), 400, 'parameter_missing', 'customer'],
    ['detach: unknown payment method', () => ({ path: '/v1/payment_methods/pm_nope/detach', form: '' }), 404, 'resource_missing', undefined],
  ];
  it.each(cases)('%s', async (_name, request, status, code, param) => {
    await rejects(request(), status, code, param);
  });
});

describe('reads reject bad parameters and unknown objects', () => {
  const lists = ['/v1/payment_intents', '/v1/charges', '/v1/refunds', '/v1/customers', '/v1/events'];
  const cases: Array<[string, Sent, number, string, string | undefined]> = [
    ...lists.flatMap((path): Array<[string, Sent, number, string, string | undefined]> => [
      [`${path}?limit=0`, { path: `${path}?limit=0` }, 400, 'parameter_invalid_integer', 'limit'],
      [`${path}?limit=101`, { path: `${path}?limit=101` }, 400, 'parameter_invalid_integer', 'limit'],
      [`${path}?limit=abc`, { path: `${path}?limit=abc` }, 400, 'parameter_invalid_integer', 'limit'],
      [`${path}?bogus=1`, { path: `${path}?bogus=1` }, 400, 'parameter_unknown', 'bogus'],
    ]),
    ['created[gt]=abc', { path: '/v1/payment_intents?created[gt]=abc' }, 400, 'parameter_invalid_integer', 'created[gt]'],
    ['created=abc', { path: '/v1/charges?created=abc' }, 400, 'parameter_invalid_integer', 'created'],
    ['created[since]=1', { path: '/v1/refunds?created[since]=1' }, 400, 'parameter_unknown', 'created[since]'],
    ['query nesting beyond the depth limit', { path: '/v1/customers?a[b][c][d][e][f][g]=1' }, 400, 'parameter_unknown', 'a'],
    ['query nesting beyond the depth limit, unauthenticated', { path: '/v1/customers?a[b][c][d][e][f][g]=1', key: null }, 401, 'api_key_missing', undefined],
    ['created nested beyond the depth limit', { path: '/v1/charges?created[gt][a][b][c][d][e][f]=1' }, 400, 'parameter_invalid_integer', 'created[gt]'],
    ['starting_after with NUL', { path: '/v1/payment_intents?starting_after=pi_%00' }, 400, 'parameter_invalid', 'starting_after'],
    ['events type with NUL', { path: '/v1/events?type=%00' }, 400, 'parameter_invalid', 'type'],
    ['payment methods without customer', { path: '/v1/payment_methods' }, 400, 'parameter_missing', 'customer'],
    ['unknown URL', { path: '/v1/nope' }, 404, 'url_invalid', undefined],
    ['unknown URL outside /v1', { path: '/nope', key: null }, 404, 'url_invalid', undefined],
    ['unknown action', { path: '/v1/payment_intents/pi_x/explode', form: '' }, 404, 'url_invalid', undefined],
    ['unsupported method', { method: 'PUT', path: '/v1/payment_intents', form: intentForm() }, 404, 'url_invalid', undefined],
    ['unknown payment intent', { path: '/v1/payment_intents/pi_nope' }, 404, 'resource_missing', undefined],
    ['unknown charge', { path: '/v1/charges/ch_nope' }, 404, 'resource_missing', undefined],
    ['unknown refund', { path: '/v1/refunds/re_nope' }, 404, 'resource_missing', undefined],
    ['unknown customer', { path: '/v1/customers/cus_nope' }, 404, 'resource_missing', undefined],
    ['unknown customer payment methods', { path: '/v1/customers/cus_nope/payment_methods' }, 404, 'resource_missing', undefined],
    ['payment methods of an unknown customer', { path: '/v1/payment_methods?customer=cus_nope' }, 404, 'resource_missing', 'customer'],
    ['unknown payment method', { path: '/v1/payment_methods/pm_nope' }, 404, 'resource_missing', undefined],
    ['unknown event', { path: '/v1/events/evt_nope' }, 404, 'resource_missing', undefined],
    ['an id with NUL', { path: '/v1/payment_intents/pi_%00' }, 404, 'resource_missing', undefined],
    ['a 10 000-character id', { path: `/v1/customers/cus_${'x'.repeat(10_000)}` }, 404, 'resource_missing', undefined],
    ['a 10 000-character id in a write', { path: `/v1/payment_intents/pi_${'x'.repeat(10_000)}/cancel`, form: '' }, 404, 'resource_missing', undefined],
    ['a malformed percent escape in the path', { path: '/v1/customers/cus_%E0%A4%A' }, 404, 'url_invalid', undefined],
    ['confirm an unknown intent', { path: '/v1/payment_intents/pi_nope/confirm', form: '' }, 404, 'resource_missing', undefined],
    ['capture an unknown intent', { path: '/v1/payment_intents/pi_nope/capture', form: '' }, 404, 'resource_missing', undefined],
    ['cancel an unknown intent', { path: '/v1/payment_intents/pi_nope/cancel', form: '' }, 404, 'resource_missing', undefined],
    ['delete an unknown customer', { method: 'DELETE', path: '/v1/customers/cus_nope' }, 404, 'resource_missing', undefined],
  ];
  it.each(cases)('%s', async (_name, request, status, code, param) => {
    await rejects(request, status, code, param);
  });
});

describe('authentication', () => {
  const cases: Array<[string, Sent, string]> = [
    ['no Authorization header', { path: '/v1/payment_intents', form: intentForm(), key: null }, 'api_key_missing'],
    ['an unknown key', { path: '/v1/payment_intents', form: intentForm(), key: 'sk_test_unknownKey000000000000000' }, 'api_key_invalid'],
    ['an empty Bearer token', { path: '/v1/customers', headers: { authorization: 'Bearer ' } }, 'api_key_missing'],
    ['an unknown scheme', { path: '/v1/customers', headers: { authorization: `Token ${'sk_test_payrailTestKey0000000000000001'}` } }, 'api_key_missing'],
    ['a 10 000-character key', { path: '/v1/customers', key: `sk_test_${'a'.repeat(10_000)}` }, 'api_key_invalid'],
    ['an unknown key on an unknown URL', { path: '/v1/nope', key: 'sk_test_unknownKey000000000000000' }, 'api_key_invalid'],
    ['no key on a percent-encoded /v1 path', { path: '/%761/customers', key: null }, 'api_key_missing'],
    ['no key on a percent-encoded write', { path: '/%761/payment_intents', form: intentForm(), key: null }, 'api_key_missing'],
  ];
  it.each(cases)('%s → 401', async (_name, request, code) => {
    const answer = await rejects(request, 401, code);
    expect(answer.body.error?.type).toBe('invalid_request_error');
    // The key is never echoed, not even in part.
    expect(JSON.stringify(answer.body)).not.toContain('unknownKey');
  });

  it('accepts the key as the Basic auth user name, as Stripe does', async () => {
    const basic = Buffer.from(`${t.secret_key}:`).toString('base64');
    const answer = await send({ path: '/v1/customers', headers: { authorization: `Basic ${basic}` } });
    expect(answer.status).toBe(200);
  });

  it('serves a percent-encoded /v1 path to a valid key like the plain one', async () => {
    const answer = await send({ path: '/%761/customers?limit=1' });
    expect(answer.status).toBe(200);
    expect(answer.body.object).toBe('list');
  });

  it('the SDK raises StripeAuthenticationError for a bad key', async () => {
    const bad = stripeClient(t.url, 'sk_test_unknownKey000000000000000');
    const error = await bad.paymentIntents.create({ amount: 1000, currency: 'usd' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(401);
  });
});

describe('the SDK raises the matching error classes', () => {
  async function sdkError(call: () => Promise<unknown>): Promise<Stripe.errors.StripeError> {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return error as Stripe.errors.StripeError;
  }

  it('StripeInvalidRequestError with code and param for bad parameters', async () => {
    const before = await storeDigest();
    const small = await sdkError(() => t.stripe.paymentIntents.create({ amount: 10, currency: 'usd' }));
    expect(small).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(small).toMatchObject({ code: 'amount_too_small', param: 'amount', statusCode: 400 });
    const currency = await sdkError(() => t.stripe.paymentIntents.create({ amount: 1000, currency: 'xyz' }));
    expect(currency).toMatchObject({ type: 'StripeInvalidRequestError', code: 'currency_invalid', param: 'currency' });
    const unknown = await sdkError(() => t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', foo: 'bar' } as Stripe.PaymentIntentCreateParams));
    expect(unknown).toMatchObject({ type: 'StripeInvalidRequestError', code: 'parameter_unknown', param: 'foo' });
    const metadata = await sdkError(() => t.stripe.customers.create({ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }));
    expect(metadata).toMatchObject({ type: 'StripeInvalidRequestError', code: 'metadata_invalid' });
    const missing = await sdkError(() => t.stripe.paymentIntents.retrieve('pi_nope'));
    expect(missing).toMatchObject({ type: 'StripeInvalidRequestError', code: 'resource_missing', statusCode: 404 });
    const limit = await sdkError(() => t.stripe.charges.list({ limit: 101 }));
    expect(limit).toMatchObject({ type: 'StripeInvalidRequestError', code: 'parameter_invalid_integer', param: 'limit' });
    const refund = await sdkError(() => t.stripe.refunds.create({ charge: 'ch_nope' }));
    expect(refund).toMatchObject({ type: 'StripeInvalidRequestError', code: 'resource_missing', param: 'charge' });
    expect(await storeDigest()).toEqual(before);
  });

  it('StripeCardError for an invalid card, with nothing stored', async () => {
    const before = await storeDigest();
    const error = await sdkError(() =>
      t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424241', exp_month: 12, exp_year: 2034, cvc: '123' } }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ code: 'incorrect_number', param: 'card[number]', statusCode: 402 });
    expect(await storeDigest()).toEqual(before);
  });

  it('StripeCardError for a decline, which records the failed attempt', async () => {
    const error = await sdkError(() =>
      t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline', statusCode: 402 });
    const intent = (error.raw as { payment_intent?: { id: string; status: string } }).payment_intent;
    expect(intent?.status).toBe('requires_payment_method');
    const stored = await t.platform.database.pool.query<{ status: string }>('SELECT status FROM payments.payment_intents WHERE id = $1', [intent?.id]);
    expect(stored.rows[0]?.status).toBe('requires_payment_method');
  });

  it('StripeIdempotencyError for a reused key with other parameters', async () => {
    const idempotencyKey = `sdk-${Date.now()}`;
    await t.stripe.customers.create({ name: 'first' }, { idempotencyKey });
    const error = await sdkError(() => t.stripe.customers.create({ name: 'second' }, { idempotencyKey }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error).toMatchObject({ code: 'idempotency_error', statusCode: 400 });
  });
});

describe('random bodies never cause a server error', () => {
  /**
   * Each field gets mostly plausible values and sometimes hostile ones, so a body often gets past the
   * required fields into the use case and the database, where a stray NUL or huge number would hurt.
   */
  const rawFragment = fc.constantFrom(
    '%00',
    '%ED%A0%80',
    '%ED%B0%80',
    '%',
    '%zz',
    '%5B',
    '%5D',
    '[',
    ']',
    '[]',
    '[0]',
    '&',
    '=',
    '+',
    '%F0%9F%92%B3',
    '%C0%AF',
    '\u00e9',
    '\u{1F4B3}',
  );
  const formText = fc.oneof(
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent),
    fc.array(fc.oneof(rawFragment, fc.string({ maxLength: 3 }).map(encodeURIComponent)), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
    fc.constantFrom('%00', 'a%00b', '%ED%A0%80', 'x%ED%B0%80'),
  );
  const formNumber = fc.oneof(
    fc.constantFrom(
      '1e30',
      '-0',
      '0',
      '49',
      '50',
      '99999999',
      '100000000',
      '9007199254740993',
      '1e308',
      'NaN',
      'Infinity',
      '-1',
      '12.5',
      '0x10',
      '+100',
      '%00',
    ),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  );
  const pick = <T>(usual: T, unusual: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: unusual });
  const field = (name: string | fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
    fc.tuple(typeof name === 'string' ? fc.constant(name) : name, value).map(([k, v]) => `${k}=${v}`);
  const formField = fc.oneof(
    field('amount', pick('1000', formNumber)),
    field('currency', pick('usd', fc.oneof(fc.constantFrom('USD', 'jpy', 'kwd', 'xyz'), formText))),
    field('confirm', pick('false', fc.oneof(fc.constant('true'), formText))),
    field('capture_method', fc.oneof(fc.constantFrom('automatic', 'manual', 'automatic_async'), formText)),
    field('payment_method', fc.oneof(fc.constantFrom('pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_authenticationRequired'), formText)),
    field('customer', formText),
    field('description', formText),
    field('receipt_email', formText),
    field('statement_descriptor', formText),
    field('return_url', formText),
    field(
      formText.map((k) => `metadata[${k}]`),
      formText,
    ),
    field(fc.constantFrom('expand[]', 'payment_method_types[]', 'amount[]', 'metadata', 'metadata[a][b]', 'card[number]'), formText),
    field(formText, formText),
  );
  const formBody = fc
    .tuple(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.array(formField, { maxLength: 4 }))
    .map(([base, fields]) => [...(base ? ['amount=1000', 'currency=usd'] : []), ...fields].join('&'));

  it('form bodies POSTed to /v1/payment_intents', async () => {
    await fc.assert(
      fc.asyncProperty(formBody, async (body) => {
        const answer = await send({ path: '/v1/payment_intents', form: body });
        expect(answer.status, `${body} → ${JSON.stringify(answer.body).slice(0, 300)}`).toBeLessThan(500);
        if (answer.status >= 400) expectError(answer, answer.status, String(answer.body.error?.code));
      }),
      { numRuns: 200 },
    );
  });

  const jsonText = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff', 'a\ud83d', '\u{1F4B3}', ''),
  );
  const jsonNumber = fc.oneof(fc.constantFrom(1e30, -1, 0, 49, 12.5, 2 ** 53 + 2, Number.MAX_VALUE, -0), fc.integer(), fc.double());
  const jsonAny = fc.oneof(jsonText, jsonNumber, fc.constantFrom(true, false, null, [], {}, ['x'], { a: 'b' }));
  const jsonTextField = (name: string) => fc.tuple(fc.constant(name), fc.oneof({ weight: 4, arbitrary: jsonText }, { weight: 1, arbitrary: jsonAny }));
  const metadata = fc.tuple(
    fc.constant('metadata'),
    fc.dictionary(jsonText, fc.oneof({ weight: 4, arbitrary: jsonText }, { weight: 1, arbitrary: jsonAny }), { maxKeys: 3 }),
  );
  const FIELDS: Record<string, fc.Arbitrary<[string, unknown]>> = {
    '/v1/payment_intents': fc.oneof(
      fc.tuple(fc.constant('amount'), fc.oneof({ weight: 3, arbitrary: fc.constant(1000) }, { weight: 1, arbitrary: jsonNumber })),
      fc.tuple(fc.constant('currency'), fc.oneof(fc.constant('usd'), jsonText)),
      jsonTextField('description'),
      jsonTextField('customer'),
      jsonTextField('payment_method'),
      jsonTextField('receipt_email'),
      metadata,
    ),
    '/v1/customers': fc.oneof(jsonTextField('email'), jsonTextField('name'), jsonTextField('phone'), jsonTextField('description'), metadata),
    '/v1/payment_methods': fc.oneof(
      fc.tuple(
        fc.constant('billing_details'),
        fc.record({ name: jsonText, email: jsonText, address: fc.record({ line1: jsonText, city: jsonText }) }, { requiredKeys: [] }),
      ),
      fc.tuple(
        fc.constant('card'),
        fc.record({
          number: fc.oneof(fc.constant('4242424242424242'), jsonText, jsonNumber),
          exp_month: fc.oneof(fc.constant(12), jsonAny),
          exp_year: fc.oneof(fc.constant(2034), jsonAny),
          cvc: fc.oneof(fc.constant('123'), jsonAny),
        }),
      ),
      metadata,
    ),
  };
  const BASES: Record<string, Record<string, unknown>> = {
    '/v1/payment_intents': { amount: 1000, currency: 'usd' },
    '/v1/customers': {},
    '/v1/payment_methods': { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034 } },
  };
  const jsonRequest = fc.constantFrom(...Object.keys(BASES)).chain((path) =>
    fc.tuple(fc.boolean(), fc.array(FIELDS[path] as fc.Arbitrary<[string, unknown]>, { maxLength: 3 })).map(([base, fields]) => ({
      path,
      body: { ...(base ? BASES[path] : {}), ...Object.fromEntries(fields) },
    })),
  );

  it('JSON bodies POSTed to the create endpoints', async () => {
    await fc.assert(
      fc.asyncProperty(jsonRequest, async ({ path, body }) => {
        const answer = await send({ path, json: JSON.stringify(body) });
        expect(answer.status, `${path} ${JSON.stringify(body)} → ${JSON.stringify(answer.body).slice(0, 300)}`).toBeLessThan(500);
        if (answer.status >= 400) expectError(answer, answer.status, String(answer.body.error?.code));
      }),
      { numRuns: 150 },
    );
  });
});

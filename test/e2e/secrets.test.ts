import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Card numbers, CVCs and secret keys go in through every route, good requests and bad, and must come
 * out nowhere: not in a log line, a response, an event, or any column of any table in the database
 * (card numbers are stored only as ciphertext, which must not contain them in any encoding either).
 */

interface Card {
  number: string;
  cvc: string;
  /** Digits 7 to n-4: the part that no masked form ever shows. */
  middle: string | undefined;
}

const card = (number: string, cvc: string, distinctive_middle = true): Card => ({ number, cvc, middle: distinctive_middle ? number.slice(6, -4) : undefined });
const VISA = card('4242424242424242', '987');
const MASTERCARD = card('5555555555554444', '618');
const AMEX = card('378282246310005', '7531');
const DECLINED = card('4000000000000002', '864', false); // middle digits are all zeros: only the full number is distinctive
const THREE_D_SECURE = card('4000002760003184', '752');
const CARDS = [VISA, MASTERCARD, AMEX, DECLINED, THREE_D_SECURE];

let t: TestPlatform;
let other: { secret_key: string; stripe: Stripe };
/** Every response body any request in this file received. */
const responses: string[] = [];

beforeAll(async () => {
  t = await startTestPlatform();
  other = await t.newMerchant();
});
afterAll(async () => {
  await t?.stop();
});

function secretKeys(): string[] {
  const keys = [t.secret_key, other.secret_key];
  return [...keys, ...keys.map((key) => key.slice('sk_test_'.length)), ...keys.map((key) => Buffer.from(`${key}:`).toString('base64'))];
}

/** Every way a secret could show up in a piece of text; empty when the text is clean. */
function leaks(text: string): string[] {
  const found: string[] = [];
  const digit_runs = text.match(/\d(?:[ -]?\d){5,}/g)?.map((run) => run.replace(/[ -]/g, '')) ?? [];
  const lower = text.toLowerCase();
  for (const { number, cvc, middle } of CARDS) {
    if (text.includes(number) || digit_runs.some((run) => run.includes(number))) found.push(`card number ${number}`);
    // Middle digits leak as part of a longer piece of the number, or standing alone. (Shorter pieces
    // inside other digit runs are expected by chance: ids, hashes and timestamps are full of digits.)
    const pieces = Array.from({ length: number.length - 9 }, (_, i) => number.slice(i, i + 10));
    const standalone = middle ? new RegExp(`(?<![0-9A-Za-z])${middle}(?![0-9A-Za-z])`) : undefined;
    if (middle && (digit_runs.some((run) => pieces.some((piece) => run.includes(piece))) || standalone?.test(text)))
      found.push(`middle digits ${middle} of ${number}`);
    if (lower.includes(Buffer.from(number).toString('hex'))) found.push(`card number ${number} as hex`);
    if (lower.includes(Buffer.from(number).toString('base64').toLowerCase())) found.push(`card number ${number} as base64`);
    // A CVC is short, so only a standalone token counts (not digits inside an id, a hash or a number).
    if (new RegExp(`(?<![0-9A-Za-z.])${cvc}(?![0-9A-Za-z.])`).test(text)) found.push(`cvc ${cvc}`);
  }
  if (/"cvc"\s*:\s*"?\d/.test(text) || /cvc(?:%5D|\])?=\d/.test(text)) found.push('a cvc field with a value');
  for (const key of secretKeys()) if (text.includes(key)) found.push(`secret key ${key.slice(0, 12)}…`);
  return found;
}

async function send(
  path: string,
  options: { method?: string; form?: string; json?: string; headers?: Record<string, string>; key?: string | null } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? t.secret_key : options.key;
  if (key !== null) headers.authorization ??= `Bearer ${key}`;
  if (options.form !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
  if (options.json !== undefined) headers['content-type'] ??= 'application/json';
  const body = options.form ?? options.json;
  const response = await fetch(t.url + path, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  responses.push(text);
  // Headers too, except the ones that are only numbers and dates (a 987-byte body is not a CVC).
  for (const [name, value] of response.headers) if (name !== 'content-length' && name !== 'date' && name !== 'keep-alive') responses.push(`${name}: ${value}`);
  return { status: response.status, text };
}

const cardForm = (c: Card, extra = '') => `type=card&card[number]=${c.number}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=${c.cvc}${extra}`;
const cardJson = (c: Card, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'card', card: { number: c.number, exp_month: 12, exp_year: 2034, cvc: c.cvc }, ...extra });
const idOf = (text: string) => (JSON.parse(text) as { id: string }).id;

describe('secrets pushed through every route', () => {
  it('good requests: tokenize, attach, pay, capture, refund, 3-D Secure, decline, replay', async () => {
    const customer = idOf((await send('/v1/customers', { form: 'email=cardholder@example.com&name=Card%20Holder' })).text);

    const visa = await send('/v1/payment_methods', {
      form: cardForm(VISA, '&billing_details[name]=Card%20Holder&billing_details[address][line1]=1%20Main%20St'),
      headers: { 'idempotency-key': 'secrets-tokenize-visa' },
    });
    expect(visa.status).toBe(200);
    expect((JSON.parse(visa.text) as Stripe.PaymentMethod).card?.last4).toBe('4242');
    const replay = await send('/v1/payment_methods', {
      form: cardForm(VISA, '&billing_details[name]=Card%20Holder&billing_details[address][line1]=1%20Main%20St'),
      headers: { 'idempotency-key': 'secrets-tokenize-visa' },
    });
    expect(replay.text).toBe(visa.text);
    const spaced = await send('/v1/payment_methods', { form: cardForm({ ...MASTERCARD, number: '5555 5555 5555 4444' }) });
    expect(spaced.status).toBe(200);
    const amex = await send('/v1/payment_methods', { json: cardJson(AMEX) });
    expect(amex.status).toBe(200);
    const declined = await send('/v1/payment_methods', { form: cardForm(DECLINED) });
    const three_ds = await send('/v1/payment_methods', { json: cardJson(THREE_D_SECURE, { metadata: { order: 'o-1' } }) });

    await send(`/v1/payment_methods/${idOf(visa.text)}/attach`, { form: `customer=${customer}` });
    await send(`/v1/customers/${customer}/payment_methods`);
    await send(`/v1/payment_methods?customer=${customer}`);
    await send(`/v1/payment_methods/${idOf(amex.text)}`);

    const paid = await send('/v1/payment_intents', {
      form: `amount=4200&currency=usd&customer=${customer}&payment_method=${idOf(visa.text)}&confirm=true`,
      headers: { 'idempotency-key': 'secrets-pay' },
    });
    const paid_intent = JSON.parse(paid.text) as Stripe.PaymentIntent;
    expect(paid_intent.status).toBe('succeeded');
    const charge = chargeIdOf(paid_intent);
    await send(`/v1/charges/${charge}`);
    await send('/v1/refunds', { form: `charge=${charge}&amount=1000` });

    const manual = await send('/v1/payment_intents', {
      form: `amount=3100&currency=usd&payment_method=${idOf(spaced.text)}&capture_method=manual&confirm=true`,
    });
    await send(`/v1/payment_intents/${idOf(manual.text)}/capture`, { form: 'amount_to_capture=3000' });
    const amex_intent = await send('/v1/payment_intents', { form: `amount=2600&currency=usd&payment_method=${idOf(amex.text)}` });
    await send(`/v1/payment_intents/${idOf(amex_intent.text)}/confirm`, { form: '' });

    const decline = await send('/v1/payment_intents', {
      form: `amount=2700&currency=usd&payment_method=${idOf(declined.text)}&confirm=true`,
      headers: { 'idempotency-key': 'secrets-decline' },
    });
    expect(decline.status).toBe(402);
    await send('/v1/payment_intents', {
      form: `amount=2700&currency=usd&payment_method=${idOf(declined.text)}&confirm=true`,
      headers: { 'idempotency-key': 'secrets-decline' },
    });

    const challenged = await send('/v1/payment_intents', {
      form: `amount=2800&currency=usd&payment_method=${idOf(three_ds.text)}&confirm=true&return_url=https://example.com/return`,
    });
    expect((JSON.parse(challenged.text) as Stripe.PaymentIntent).status).toBe('requires_action');
    await send(`/v1/test_helpers/payment_intents/${idOf(challenged.text)}/authenticate`, { form: 'outcome=succeeded' });

    // The SDK's requests and answers go through the same checks.
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: VISA.number, exp_month: 12, exp_year: 2034, cvc: VISA.cvc } });
    const intent = await t.stripe.paymentIntents.create({ amount: 1900, currency: 'usd', payment_method: method.id, confirm: true });
    const error = await t.stripe.paymentMethods
      .create({ type: 'card', card: { number: VISA.number, exp_month: 13, exp_year: 2034, cvc: VISA.cvc } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    responses.push(JSON.stringify(method), JSON.stringify(intent), JSON.stringify((error as Stripe.errors.StripeError).raw));

    // Basic auth carries the key too; and the other merchant pays with the same card, so its events describe it.
    const basic = Buffer.from(`${t.secret_key}:`).toString('base64');
    expect((await send('/v1/payment_methods', { form: cardForm(VISA), headers: { authorization: `Basic ${basic}` } })).status).toBe(200);
    const other_method = await send('/v1/payment_methods', { form: cardForm(VISA), key: other.secret_key });
    expect(other_method.status).toBe(200);
    const other_payment = `amount=1200&currency=usd&confirm=true&payment_method=${idOf(other_method.text)}`;
    expect((await send('/v1/payment_intents', { form: other_payment, key: other.secret_key })).status).toBe(200);

    await send('/v1/events?limit=100');
  });

  it('tokens, legacy charges and SetupIntents: the card goes in, only its metadata comes out', async () => {
    const tokenForm = (c: Card) => `card[number]=${c.number}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=${c.cvc}`;
    const token = idOf((await send('/v1/tokens', { form: tokenForm(MASTERCARD) })).text);
    expect((await send(`/v1/tokens/${token}`)).status).toBe(200);
    expect((await send('/v1/charges', { form: `amount=1500&currency=usd&source=${token}`, headers: { 'idempotency-key': 'secrets-legacy' } })).status).toBe(
      200,
    );
    expect((await send('/v1/charges', { form: `amount=1500&currency=usd&source=${token}` })).status).toBe(400);
    const declining = idOf((await send('/v1/tokens', { form: tokenForm(DECLINED) })).text);
    expect((await send('/v1/charges', { form: `amount=1500&currency=usd&source=${declining}` })).status).toBe(402);
    const challenged = idOf((await send('/v1/tokens', { form: tokenForm(THREE_D_SECURE) })).text);
    const method = idOf((await send('/v1/payment_methods', { form: `type=card&card[token]=${challenged}` })).text);
    const setup = await send('/v1/setup_intents', { form: `payment_method=${method}&confirm=true` });
    expect(JSON.parse(setup.text)).toMatchObject({ status: 'requires_action' });
    await send(`/v1/test_helpers/setup_intents/${idOf(setup.text)}/authenticate`, { form: 'outcome=succeeded' });
    // A bad card on a token is refused without echoing it.
    expect((await send('/v1/tokens', { form: tokenForm({ ...AMEX, cvc: VISA.cvc }) })).status).toBe(402);
    expect((await send('/v1/tokens', { form: `${tokenForm(VISA)}&card[pan]=${VISA.number}` })).status).toBe(400);
  });

  it('bad requests carrying card data: every one fails without echoing it', async () => {
    const failures: Array<[string, Promise<{ status: number; text: string }>, number]> = [
      ['expiry month 13', send('/v1/payment_methods', { form: cardForm(VISA).replace('exp_month]=12', 'exp_month]=13') }), 402],
      ['expired', send('/v1/payment_methods', { form: cardForm(MASTERCARD).replace('exp_year]=2034', 'exp_year]=2001') }), 402],
      ['three-digit amex cvc', send('/v1/payment_methods', { form: cardForm({ ...AMEX, cvc: VISA.cvc }) }), 402],
      ['two-digit cvc', send('/v1/payment_methods', { form: cardForm(VISA).replace(`cvc]=${VISA.cvc}`, `cvc]=${VISA.cvc.slice(0, 2)}`) }), 402],
      [
        'cvc with letters',
        send('/v1/payment_methods', {
          json: JSON.stringify({ type: 'card', card: { number: VISA.number, exp_month: 12, exp_year: 2034, cvc: `${VISA.cvc}x` } }),
        }),
        402,
      ],
      ['number with one digit wrong', send('/v1/payment_methods', { form: cardForm({ ...VISA, number: `${VISA.number.slice(0, 15)}1` }) }), 402],
      ['number too long', send('/v1/payment_methods', { form: cardForm({ ...VISA, number: `${VISA.number}4242` }) }), 402],
      [
        'number as a JSON number',
        send('/v1/payment_methods', { json: `{"type":"card","card":{"number":${VISA.number},"exp_month":12,"exp_year":2034,"cvc":${VISA.cvc}}}` }),
        200,
      ],
      ['unknown card field holding the number', send('/v1/payment_methods', { form: cardForm(VISA, `&card[pan]=${VISA.number}`) }), 400],
      ['unknown type', send('/v1/payment_methods', { form: cardForm(VISA).replace('type=card', 'type=bank_account') }), 400],
      ['card as a list', send('/v1/payment_methods', { form: `type=card&card[]=${VISA.number}&card[]=${VISA.cvc}` }), 400],
      ['malformed JSON', send('/v1/payment_methods', { json: cardJson(VISA).slice(0, -3) }), 400],
      ['JSON array', send('/v1/payment_methods', { json: `[${cardJson(VISA)}]` }), 400],
      ['text/plain', send('/v1/payment_methods', { form: cardForm(VISA), headers: { 'content-type': 'text/plain' } }), 415],
      ['oversized', send('/v1/payment_methods', { form: cardForm(VISA, `&metadata[pad]=${'x'.repeat(300 * 1024)}`) }), 413],
      ['no API key', send('/v1/payment_methods', { form: cardForm(VISA), key: null }), 401],
      ['a wrong API key', send('/v1/payment_methods', { form: cardForm(VISA), key: 'sk_test_wrongWrongWrong0000000001' }), 401],
      [
        'payment_method_data on an intent',
        send('/v1/payment_intents', {
          form: `amount=1000&currency=usd&confirm=true&payment_method_data[type]=card&payment_method_data[card][number]=${VISA.number}&payment_method_data[card][cvc]=${VISA.cvc}`,
        }),
        400,
      ],
      [
        'a card number as the payment method',
        send('/v1/payment_intents', {
          form: `amount=1000&currency=usd&confirm=true&payment_method=${VISA.number}`,
          headers: { 'idempotency-key': 'secrets-pan-as-pm' },
        }),
        404,
      ],
      [
        'a spaced card number as the customer',
        send('/v1/payment_intents', {
          form: `amount=1000&currency=usd&customer=${encodeURIComponent('4242 4242 4242 4242')}`,
          headers: { 'idempotency-key': 'secrets-pan-as-customer' },
        }),
        404,
      ],
      [
        'a card number as the refunded charge',
        send('/v1/refunds', { form: `charge=${MASTERCARD.number}`, headers: { 'idempotency-key': 'secrets-pan-as-charge' } }),
        404,
      ],
      ['a card number as a currency', send('/v1/payment_intents', { form: `amount=1000&currency=${VISA.number}` }), 400],
      ['a card number as a path id', send(`/v1/payment_methods/${AMEX.number}`), 404],
      ['a card number as a customer id', send(`/v1/customers/${VISA.number}`), 404],
      ['a card number as an attach target', send(`/v1/payment_methods/pm_card_visa/attach`, { form: `customer=${VISA.number}` }), 404],
      ['the secret key as a parameter', send(`/v1/customers?api_key=${t.secret_key}`), 400],
    ];
    for (const [name, pending, status] of failures) {
      const answer = await pending;
      expect(answer.status, `${name}: ${answer.text.slice(0, 300)}`).toBe(status);
      expect(leaks(answer.text), name).toEqual([]);
    }
  });

  it('the SDK: a card error and an authentication error with a card in the request', async () => {
    const bad = new Stripe('sk_test_wrongWrongWrong0000000001', {
      apiVersion: '2023-08-16',
      host: new URL(t.url).hostname,
      port: Number(new URL(t.url).port),
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
    const auth = await bad.paymentMethods
      .create({ type: 'card', card: { number: VISA.number, exp_month: 12, exp_year: 2034, cvc: VISA.cvc } })
      .catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const cvc = await t.stripe.paymentMethods
      .create({ type: 'card', card: { number: AMEX.number, exp_month: 12, exp_year: 2034, cvc: '12' } })
      .catch((e: unknown) => e);
    expect(cvc).toBeInstanceOf(Stripe.errors.StripeCardError);
    for (const error of [auth, cvc]) {
      const raw = (error as Stripe.errors.StripeError).raw;
      responses.push(JSON.stringify(raw));
      expect(leaks(JSON.stringify(raw))).toEqual([]);
      expect(leaks((error as Error).message)).toEqual([]);
    }
  });
});

describe('and come out nowhere', () => {
  it('not in any response body or header', () => {
    expect(responses.length).toBeGreaterThan(50);
    const found = responses.flatMap((text) => leaks(text).map((leak) => `${leak} in ${text.slice(0, 160)}`));
    expect(found).toEqual([]);
  });

  it('not in any log line', () => {
    expect(t.logs.length).toBeGreaterThan(50);
    const found = t.logs.flatMap((line) => leaks(line).map((leak) => `${leak} in ${line.slice(0, 200)}`));
    expect(found).toEqual([]);
  });

  it('not in any event, of either merchant', async () => {
    for (const stripe of [t.stripe, other.stripe]) {
      const events = await stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
      expect(events.length).toBeGreaterThan(0);
      const found = events.flatMap((event) => leaks(JSON.stringify(event)).map((leak) => `${leak} in ${event.type} ${event.id}`));
      expect(found).toEqual([]);
    }
  });

  it('not in any column of any table', async () => {
    const pool = t.owner;
    const columns = await pool.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(`
      SELECT c.table_schema, c.table_name, c.column_name, c.data_type
      FROM information_schema.columns c
      JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
        AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY', 'xml')
      ORDER BY 1, 2, 3`);
    const schemas = new Set(columns.rows.map((column) => column.table_schema));
    for (const schema of ['payments', 'vault', 'events', 'gateway', 'merchants']) expect(schemas).toContain(schema);

    const found: string[] = [];
    let values = 0;
    let ciphertexts = 0;
    for (const { table_schema, table_name, column_name, data_type } of columns.rows) {
      const table = `"${table_schema}"."${table_name}"`;
      const column = `"${column_name}"`;
      // bytea is searched as hex and as escaped text; everything else as its text form.
      const expressions =
        data_type === 'bytea' ? [`encode(${column}, 'hex')`, `encode(${column}, 'escape')`, `encode(${column}, 'base64')`] : [`${column}::text`];
      for (const expression of expressions) {
        const result = await pool.query<{ value: string | null }>(`SELECT ${expression} AS value FROM ${table}`);
        for (const { value } of result.rows) {
          if (value === null) continue;
          values += 1;
          if (data_type === 'bytea') ciphertexts += 1;
          for (const leak of leaks(value)) found.push(`${leak} in ${table_schema}.${table_name}.${column_name}`);
        }
      }
    }
    expect(found).toEqual([]);
    expect(values).toBeGreaterThan(100);
    // Card numbers are stored, sealed: at least one ciphertext per tokenized card, all searched.
    expect(ciphertexts).toBeGreaterThanOrEqual(CARDS.length);
  });

  it('the search itself finds a planted secret in each place it looks', () => {
    expect(leaks(`{"number":"${VISA.number}"}`)).toContain(`card number ${VISA.number}`);
    expect(leaks('4242 4242 4242 4242')).toContain(`card number ${VISA.number}`);
    expect(leaks(`card ${VISA.number.slice(0, 12)}`)).toContain(`middle digits ${VISA.middle} of ${VISA.number}`);
    expect(leaks(`{"digits":"${AMEX.middle}"}`)).toContain(`middle digits ${AMEX.middle} of ${AMEX.number}`);
    expect(leaks(`${AMEX.number.slice(0, 6)}*****${AMEX.number.slice(-4)}`)).toEqual([]);
    expect(leaks(Buffer.from(`x${AMEX.number}`).toString('hex'))).toContain(`card number ${AMEX.number} as hex`);
    expect(leaks(`{"cvc":"${MASTERCARD.cvc}"}`)).toContain(`cvc ${MASTERCARD.cvc}`);
    expect(leaks(`Bearer ${t.secret_key}`).length).toBeGreaterThan(0);
    expect(leaks(`pi_01M7Y987ABC req_01M7YA1QZB3EF824631EA4E6BC 1700000987 1795224631000 latency 9.87 "cvc_check":"pass"`)).toEqual([]);
  });
});

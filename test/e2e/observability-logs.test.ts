import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { createLogger, redactText } from '../../src/platform/logger.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest, AuthorizeResult } from '../../src/services/connectors/domain/port.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

/**
 * Logs: exactly one `request` line per request with the fields operators need, and no secret in any
 * line — including secrets that arrive inside an error's message and stack, where field-based
 * redaction cannot see them. (test/e2e/secrets.test.ts pushes secrets through every route; this file
 * covers the log layer that catches what field paths miss.)
 */

const VISA = '4242424242424242';
const VISA_SPACED = '4242 4242 4242 4242';
const AMEX = '378282246310005';
const CVC = '864';
const WEBHOOK_SECRET = 'whsec_q8Vn3LwXe5Rk2TyUi9Op0AsDf';
const OTHER_KEY = 'sk_live_51HvQzLwXe5Rk2TyUi9Op0AsDfGh';

/** A processor client that, like some real ones, puts the whole request into its error message. */
class LeakyProcessor extends SandboxWrapper {
  override readonly name = 'leaky';
  override async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    if (request.amount === 6060) {
      throw new Error(
        `upstream 502 for {"number":"${request.card.number}","cvc":"${request.card.cvc ?? CVC}","key":"${OTHER_KEY}"} card ${VISA_SPACED} cvc=${CVC}`,
      );
    }
    return super.authorize(request);
  }
}

function leaks(text: string, secrets: string[]): string[] {
  const digits_only = text.replace(/[ -]/g, '');
  const found = secrets.filter((secret) => text.includes(secret));
  for (const number of [VISA, AMEX]) if (digits_only.includes(number) || digits_only.includes(number.slice(0, 12))) found.push(`card ${number}`);
  if (new RegExp(`(?<![0-9A-Za-z.])${CVC}(?![0-9A-Za-z.])`).test(text)) found.push(`cvc ${CVC}`);
  return found;
}

describe('the log layer', () => {
  function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { logger: createLogger('debug', sink), lines };
  }

  it('masks secrets in free text, errors and fields nested deeper than the redaction paths', () => {
    const { logger, lines } = capture();
    const error = new Error(`declined ${VISA} (${AMEX}) with cvc: ${CVC} using ${OTHER_KEY}`);
    logger.error({ err: error }, 'unexpected error');
    logger.info({ deep: { deeper: { card: { number: VISA, cvc: CVC } } }, headers: { Authorization: `Bearer ${OTHER_KEY}` } }, 'nested');
    logger.info({ url: `/v1/payment_methods?card[number]=${VISA}&card%5Bcvc%5D=${CVC}`, note: `signing with ${WEBHOOK_SECRET}` }, 'text');
    logger.warn(`Basic ${Buffer.from(`${OTHER_KEY}:`).toString('base64')} and "cvc":"${CVC}" and card ${VISA_SPACED}`);
    logger.child({ component: 'child' }).info({ detail: `Key (number)=(${AMEX}) already exists` }, 'child line');
    expect(lines).toHaveLength(5);
    const text = lines.join('');
    expect(leaks(text, [OTHER_KEY, OTHER_KEY.slice(8), WEBHOOK_SECRET, Buffer.from(`${OTHER_KEY}:`).toString('base64')])).toEqual([]);
    // What stays is still useful: last four digits, key prefixes, the stack, and every line still JSON.
    expect(text).toContain('************4242');
    expect(text).toContain('***********0005');
    expect(text).toContain('sk_live_[redacted]');
    expect(text).toContain('whsec_[redacted]');
    const first = JSON.parse(lines[0] as string) as { time: number; err: { stack: string; message: string } };
    expect(first.err.stack).toContain('observability-logs.test.ts');
    expect(Math.abs(first.time - Date.now())).toBeLessThan(60_000);
    for (const line of lines) expect((): unknown => JSON.parse(line)).not.toThrow();
  });

  it('leaves ordinary text alone', () => {
    const plain = '{"level":30,"time":1767225600000,"request_id":"req_01J9ZK3N4Q","status":402,"latency_ms":12.5,"msg":"request","amount":2000}';
    expect(redactText(plain)).toBe(plain);
    // Ids whose random part is mostly digits stay whole; a card number glued to text does not.
    const ids = '{"request_id":"req_01M7YBB1ZHC9A1041509454988","key":"sk_test_01M7YBB1ZHC9A1041509454988","at_ms":1767225600000}';
    expect(redactText(ids)).toBe('{"request_id":"req_01M7YBB1ZHC9A1041509454988","key":"sk_test_[redacted]","at_ms":1767225600000}');
    expect(redactText(`card${VISA}x and pm_${VISA}AAAAAAAAAA and 4000-0566-5566-5556`)).toBe(
      'card************4242x and pm_************4242AAAAAAAAAA and ************5556',
    );
    expect(redactText(`pm_${'4'.repeat(26)}`)).toBe(`pm_${'*'.repeat(22)}4444`);
    expect(redactText('pk_test_51HvQzLwXe5Rk2Ty is public')).toBe('pk_test_51HvQzLwXe5Rk2Ty is public');
  });
});

describe('logs of a running platform', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    const processor = new LeakyProcessor();
    t = await startTestPlatform({}, { connector: processor });
    processor.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function send(path: string, options: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; request_id: string }> {
    const response = await fetch(`${t.url}${path}`, {
      method: options.body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${t.secret_key}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...options.headers,
      },
      body: options.body,
    });
    await response.text();
    return { status: response.status, request_id: response.headers.get('request-id') ?? '' };
  }

  it('writes one request line per request, and no secret reaches any line', async () => {
    const sent: Array<{ status: number; request_id: string }> = [];
    const card = `type=card&card[number]=${VISA}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=${CVC}`;
    const method = await fetch(`${t.url}/v1/payment_methods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: card,
    });
    const pm = ((await method.json()) as { id: string }).id;
    sent.push({ status: method.status, request_id: method.headers.get('request-id') ?? '' });
    // The processor fails with the card, the CVC and a key in its error message: a 500 with a stack.
    sent.push(await send('/v1/payment_intents', { body: `amount=6060&currency=usd&payment_method=${pm}&confirm=true` }));
    // Secrets in the URL, in headers, as a bad key, in Basic auth, in the body of a bad request.
    sent.push(await send(`/v1/payment_methods/${VISA}?card[number]=${VISA}&cvc=${CVC}&key=${OTHER_KEY}`));
    sent.push(await send('/v1/customers', { headers: { authorization: `Bearer ${OTHER_KEY}` } }));
    sent.push(
      await send('/v1/customers', {
        headers: { authorization: `Basic ${Buffer.from(`${t.secret_key}:`).toString('base64')}`, 'x-webhook-secret': WEBHOOK_SECRET },
      }),
    );
    sent.push(await send('/v1/payment_methods', { body: `${card}&card[extra]=${AMEX}` }));
    sent.push(
      await send('/v1/payment_intents', { body: `amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true&description=${VISA}&metadata[cvc]=${CVC}` }),
    );
    sent.push(await send(`/v1/nowhere/${AMEX}`));
    expect(sent.map((s) => s.status)).toEqual([200, 500, 400, 401, 200, 400, 200, 404]);

    const lines = t.logs.flatMap((chunk) => chunk.split('\n')).filter(Boolean);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // Exactly one request line per request, carrying the id the client got.
    for (const { request_id, status } of sent) {
      const mine = parsed.filter((line) => line.msg === 'request' && line.request_id === request_id);
      expect(mine, request_id).toHaveLength(1);
      expect(mine[0]).toMatchObject({ status });
      expect(mine[0]?.method).toBeTypeOf('string');
      expect(mine[0]?.route).toBeTypeOf('string');
      expect(mine[0]?.latency_ms).toBeTypeOf('number');
      expect(mine[0]).toHaveProperty('merchant_id');
    }
    // The 500 is logged with its stack under the same request id, the secrets masked inside it.
    const unexpected = parsed.find((line) => line.msg === 'unexpected error' && line.request_id === sent[1]?.request_id) as
      { err?: { stack?: string; message?: string } } | undefined;
    expect(unexpected?.err?.stack).toContain('upstream 502');
    expect(unexpected?.err?.message).toContain('************4242');
    expect(unexpected?.err?.message).toContain('sk_live_[redacted]');

    const secrets = [
      t.secret_key,
      t.secret_key.slice('sk_test_'.length),
      Buffer.from(`${t.secret_key}:`).toString('base64'),
      OTHER_KEY,
      OTHER_KEY.slice(8),
      WEBHOOK_SECRET,
    ];
    expect(leaks(lines.join('\n'), secrets)).toEqual([]);
  });
});

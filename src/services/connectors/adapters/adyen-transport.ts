/**
 * The Adyen connector's thin transport: one JSON POST to Checkout v71 with the API key and an
 * Idempotency-Key, bounded by a timeout. It decides only what the network tells: a call that never
 * left (connection refused, no such host, no connection within the time) throws ProcessorUnreachable;
 * a call that may have arrived (timed out after sending, connection dropped, unreadable answer) throws
 * ProcessorOutcomeUnknown. Any HTTP answer is returned as status + parsed body for the transformers.
 */
import { assert } from '../../../kernel/assert.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import { ADYEN_API_VERSION, ADYEN_IDEMPOTENCY_KEY_MAX } from '../domain/adyen-wire.js';

export interface AdyenTransportOptions {
  /** e.g. https://checkout-test.adyen.com, or the simulator's http://127.0.0.1:8090 */
  base_url: string;
  api_key: string;
  timeout_ms: number;
}

export interface AdyenAnswer {
  status: number;
  /** The parsed JSON body; null when the body was empty or not JSON. */
  body: unknown;
}

/** Answers larger than this are not Adyen's: the call's outcome is unknown rather than read into memory. */
const ANSWER_BYTES_MAX = 256 * 1024;

/** Errors (undici's `cause.code`) raised before a single byte of the request was sent. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

export class AdyenTransport {
  private readonly base_url: string;

  constructor(private readonly options: AdyenTransportOptions) {
    assert(Number.isInteger(options.timeout_ms) && options.timeout_ms > 0, 'timeout_ms must be a positive integer');
    assert(/^https?:\/\//.test(options.base_url), 'base_url must be an http(s) URL');
    this.base_url = `${options.base_url.replace(/\/+$/, '')}/${ADYEN_API_VERSION}`;
  }

  /** POSTs `body` to `path` (under /v71); the API key goes only into the X-API-Key header. */
  async post(path: string, body: unknown, idempotency_key: string): Promise<AdyenAnswer> {
    assert(idempotency_key.length <= ADYEN_IDEMPOTENCY_KEY_MAX, 'idempotency key longer than Adyen accepts');
    const operation = `POST ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.base_url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': this.options.api_key, 'idempotency-key': idempotency_key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeout_ms),
      });
    } catch (error) {
      const code = causeCode(error);
      if (code !== undefined && NEVER_SENT_CODES.has(code)) throw new ProcessorUnreachable(`Adyen ${operation} was not sent: ${code}`);
      const what = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.options.timeout_ms} ms` : (code ?? 'connection lost');
      throw new ProcessorOutcomeUnknown(`Adyen ${operation}: ${what}`);
    }
    return { status: response.status, body: await this.readBody(response, operation) };
  }

  private async readBody(response: Response, operation: string): Promise<unknown> {
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new ProcessorOutcomeUnknown(`Adyen ${operation}: the answer was cut off`);
    }
    if (text.length > ANSWER_BYTES_MAX) throw new ProcessorOutcomeUnknown(`Adyen ${operation}: an answer of ${text.length} bytes`);
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  }
}

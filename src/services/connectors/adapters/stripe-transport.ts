/**
 * The stripe connector's thin transport: one HTTPS call to Stripe's API (form-encoded, the secret key
 * as a bearer token, `Stripe-Version` pinned, an optional Idempotency-Key), with a timeout. What a
 * failed call means is decided here and only here:
 * - the connection never opened (refused, no such host, no route, connect timeout): nothing was sent,
 *   so nothing happened at the processor -> ProcessorUnreachable;
 * - anything after the request may have left (a timeout, a reset, an answer cut short) ->
 *   ProcessorOutcomeUnknown: only an inquiry or a webhook can say what Stripe did.
 * Errors name the method, the path and the cause, never the key or the parameters (card numbers).
 */
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import type { FormParams } from '../domain/stripe-wire.js';
import { STRIPE_API_VERSION } from '../domain/stripe-wire.js';

export interface StripeAnswer {
  status: number;
  body: unknown;
}

export interface StripeTransportOptions {
  /** Stripe's API origin (https://api.stripe.com), or another server speaking its API. */
  base_url: string;
  secret_key: string;
  timeout_ms: number;
}

/** Error codes Node's fetch (undici) gives when no connection was made, so no byte of the request left. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** An answer larger than this is not Stripe's: refused unread. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class StripeTransport {
  private readonly origin: string;

  constructor(private readonly options: StripeTransportOptions) {
    const url = new URL(options.base_url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('the Stripe base URL must be http(s)');
    this.origin = url.origin;
  }

  post(path: string, params: FormParams, idempotency_key: string): Promise<StripeAnswer> {
    return this.call('POST', path, new URLSearchParams(params).toString(), idempotency_key);
  }

  get(path: string, query: FormParams = []): Promise<StripeAnswer> {
    const search = query.length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
    return this.call('GET', `${path}${search}`, null, null);
  }

  private async call(method: 'GET' | 'POST', path: string, body: string | null, idempotency_key: string | null): Promise<StripeAnswer> {
    const what = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.secret_key}`, 'stripe-version': STRIPE_API_VERSION };
    if (body !== null) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (idempotency_key !== null) headers['idempotency-key'] = idempotency_key;
    let response: Response;
    try {
      // Stripe's API never redirects: one that does is not Stripe, and the key must not follow it.
      const signal = AbortSignal.timeout(this.options.timeout_ms);
      response = await fetch(`${this.origin}${path}`, { method, headers, body, signal, redirect: 'error' });
    } catch (error) {
      throw failedCall(what, error);
    }
    if (Number(response.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
      await response.body?.cancel();
      throw new ProcessorOutcomeUnknown(`${what}: an answer larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new ProcessorOutcomeUnknown(`${what}: the answer was cut short (${causeOf(error)})`);
    }
    if (text.length > MAX_ANSWER_BYTES) throw new ProcessorOutcomeUnknown(`${what}: an answer of ${text.length} bytes`);
    return { status: response.status, body: parseJson(text) };
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
}

function failedCall(what: string, error: unknown): Error {
  const cause = causeOf(error);
  if (NOT_CONNECTED.has(cause)) return new ProcessorUnreachable(`${what}: Stripe was not reached (${cause})`);
  return new ProcessorOutcomeUnknown(`${what}: no answer from Stripe (${cause})`);
}

/** A body that is not JSON (a proxy's error page) is kept as null: the status alone then decides. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

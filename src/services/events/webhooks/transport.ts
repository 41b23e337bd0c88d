/**
 * One HTTP POST of a webhook: bounded in time (the whole exchange, body included) and in what it
 * keeps of the answer. Redirects are not followed (a 3xx is a failed attempt, as with Stripe).
 */

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeout_ms: number;
  /** Characters of the response body kept for the attempt record. */
  excerpt_max: number;
  /** Aborts the attempt (worker shutdown); the answer is then `error: 'aborted'`. */
  signal?: AbortSignal;
}

export interface WebhookResponse {
  /** null when no HTTP answer came (timeout, refused, reset, DNS). */
  status: number | null;
  /** What went wrong without an answer: `timeout`, `connection_refused`, … (never the URL). */
  error: string | null;
  excerpt: string | null;
}

export type WebhookTransport = (request: WebhookRequest) => Promise<WebhookResponse>;

export const USER_AGENT = 'Payrail-Webhooks/1.0';

export const fetchTransport: WebhookTransport = async (request) => {
  const timeout = AbortSignal.timeout(request.timeout_ms);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(request.url, { method: 'POST', body: request.body, headers: request.headers, redirect: 'manual', signal });
  } catch (error) {
    return { status: null, error: describe(error, timeout, request.signal), excerpt: null };
  }
  try {
    return { status: response.status, error: null, excerpt: await readExcerpt(response, request.excerpt_max) };
  } catch (error) {
    // The status line came; the body did not finish in time. The status still decides the outcome.
    return { status: response.status, error: describe(error, timeout, request.signal), excerpt: null };
  }
};

/** Reads at most `max` characters' worth of bytes, then stops reading (the rest is never buffered). */
async function readExcerpt(response: Response, max: number): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (size === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length > max ? text.slice(0, max) : text;
}

function describe(error: unknown, timeout: AbortSignal, stop: AbortSignal | undefined): string {
  if (stop?.aborted) return 'aborted';
  if (timeout.aborted) return 'timeout';
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
      return 'connection_reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns_failure';
    case 'UND_ERR_SOCKET':
      return 'connection_closed';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? code.toLowerCase() : 'request_failed';
  }
}

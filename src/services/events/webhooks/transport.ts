import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { DestinationPolicy } from './destinations.js';
import { DENIED_UNICAST_RANGES } from './destinations.js';

/**
 * One HTTP POST of a webhook: bounded in time (the whole exchange, body included) and in what it
 * keeps of the answer. Redirects are not followed (a 3xx is a failed attempt, as with Stripe).
 *
 * Every connection goes through request-filtering-agent, which checks the address actually dialled:
 * an IP in the URL before connecting, a name after DNS resolution (every address it resolves to), so
 * a name that resolves to 127.0.0.1, or is re-pointed there after the endpoint was created, reaches
 * nothing. A refused destination is a failed attempt like a refused connection, retried on the same
 * schedule, so nothing the API shows (`pending_webhooks`) tells whether a private port would answer.
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
  /** null when no HTTP answer came (timeout, refused, reset, DNS, a destination not allowed). */
  status: number | null;
  /** What went wrong without an answer: `timeout`, `connection_refused`, `destination_not_allowed`, … (never the URL or address). */
  error: string | null;
  excerpt: string | null;
}

export type WebhookTransport = (request: WebhookRequest) => Promise<WebhookResponse>;

export const USER_AGENT = 'Payrail-Webhooks/1.0';

/** The transport of the delivery worker: public destinations only, unless the policy allows private ones. */
export function webhookTransport(policy: DestinationPolicy): WebhookTransport {
  const filter = policy.allow_private
    ? { allowPrivateIPAddress: true, allowMetaIPAddress: false }
    : { allowPrivateIPAddress: false, allowMetaIPAddress: false, denyIPAddressList: [...DENIED_UNICAST_RANGES] };
  const agents = {
    'http:': new RequestFilteringHttpAgent({ keepAlive: true, ...filter }),
    'https:': new RequestFilteringHttpsAgent({ keepAlive: true, ...filter }),
  };
  return (request) => post(request, agents, policy.https_only === true);
}

type Agents = { 'http:': RequestFilteringHttpAgent; 'https:': RequestFilteringHttpsAgent };

function post(request: WebhookRequest, agents: Agents, https_only: boolean): Promise<WebhookResponse> {
  const timeout = AbortSignal.timeout(request.timeout_ms);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return Promise.resolve({ status: null, error: 'url_invalid', excerpt: null });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.resolve({ status: null, error: 'url_invalid', excerpt: null });
  // An http endpoint stored before live mode was turned on gets nothing in clear.
  if (https_only && url.protocol !== 'https:') return Promise.resolve({ status: null, error: 'https_required', excerpt: null });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers = { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
  return new Promise((resolve) => {
    const outgoing = send(url, { method: 'POST', headers, agent: agents[url.protocol as keyof Agents], signal }, (response) => {
      const status = response.statusCode ?? null;
      readExcerpt(response, request.excerpt_max).then(
        (excerpt) => resolve({ status, error: null, excerpt }),
        // The status line came; the body did not finish in time. The status still decides the outcome.
        (error: unknown) => resolve({ status, error: describe(error, timeout, request.signal), excerpt: null }),
      );
    });
    outgoing.on('error', (error) => resolve({ status: null, error: describe(error, timeout, request.signal), excerpt: null }));
    outgoing.end(request.body);
  });
}

/** Reads at most `max` characters' worth of bytes, then stops reading (the rest is never buffered). */
async function readExcerpt(response: IncomingMessage, max: number): Promise<string | null> {
  if (max === 0) {
    response.destroy();
    return null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= max * 4) break;
  }
  // Breaking out of the loop destroys the response (and its socket): nothing more is read.
  if (size === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length > max ? text.slice(0, max) : text;
}

/** request-filtering-agent's refusal: 'DNS lookup <address>(family:…, host:…) is not allowed. Because, …'. */
const REFUSED_DESTINATION = /^DNS lookup .* is not allowed\./;

function describe(error: unknown, timeout: AbortSignal, stop: AbortSignal | undefined): string {
  if (stop?.aborted) return 'aborted';
  if (timeout.aborted) return 'timeout';
  if (error instanceof Error && REFUSED_DESTINATION.test(error.message)) return 'destination_not_allowed';
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns_failure';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? code.toLowerCase() : 'request_failed';
  }
}

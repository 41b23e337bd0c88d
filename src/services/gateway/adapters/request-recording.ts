import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../../kernel/clock.js';

/**
 * Hands each answered `/v1` request to a request log (the dashboard's "recent API requests"): what
 * was called, how it ended and how long it took. Never the key, the body or the query string, which
 * may carry a client_secret. Recording must not cost the request a database round trip, so the log
 * only takes the entry; writing it is the log's business (batched, off the request path).
 */

export interface RecordedRequest {
  request_id: string;
  merchant_id: string;
  method: string;
  /** The URL's path, without its query, card numbers and secrets redacted (`loggablePath`). */
  path: string;
  status: number;
  latency_ms: number;
  /** The id of the key that authenticated it (`key_…`), never the key. */
  api_key_id: string | null;
  created_ms: number;
}

export interface RequestLog {
  /** Takes the entry and returns at once; must not throw. */
  record(entry: RecordedRequest): void;
}

/** Paths longer than this are cut: an id-bearing path is far shorter; anything longer is noise. */
const PATH_MAX_CHARS = 500;

export const REDACTED = '[redacted]';

/**
 * What of a path may be stored: a client that puts a card number or a secret where an id goes
 * (`/v1/payment_methods/4242 4242 4242 4242`) still gets its 404, but the log must not keep it. Any
 * run of 12 or more digits (card numbers are 12 to 19; spaces, dashes or dots between groups
 * included), an API key, a webhook secret and a client secret's secret part become `[redacted]`.
 */
const SECRETS_IN_PATHS = [/\d(?:[ .-]?\d){11,}/g, /\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z]+/g, /\bwhsec_[0-9A-Za-z+/=]+/g, /(?<=_secret_)[0-9A-Za-z_-]+/g];

/** The path of `url` as the log keeps it: no query, percent-decoding undone (so `%20` cannot hide a card number), secrets redacted. */
export function loggablePath(url: string): string {
  const query_at = url.indexOf('?');
  const raw = query_at === -1 ? url : url.slice(0, query_at);
  let path = raw;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A malformed escape: the digits are still matched in the raw path, only not through escapes.
  }
  for (const pattern of SECRETS_IN_PATHS) path = path.replace(pattern, REDACTED);
  return path.slice(0, PATH_MAX_CHARS);
}

export function registerRequestRecording(app: FastifyInstance, log: RequestLog | undefined, clock: Clock): void {
  if (!log) return;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    // Only authenticated API calls: a request refused before its key resolved belongs to no merchant.
    if (!route?.startsWith('/v1/') || request.merchant_id === undefined) return;
    log.record({
      request_id: request.id,
      merchant_id: request.merchant_id,
      method: request.method,
      path: loggablePath(request.url),
      status: reply.statusCode,
      latency_ms: Math.round(reply.elapsedTime * 100) / 100,
      api_key_id: request.api_key?.id ?? null,
      created_ms: clock.now_ms(),
    });
  });
}

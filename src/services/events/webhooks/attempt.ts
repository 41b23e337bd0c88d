import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { metrics } from '../../../platform/metrics.js';
import { tracedFromStored } from '../../../platform/tracing.js';
import type { Clock } from '../../../kernel/clock.js';
import { renderEvent } from '../adapters/outbox.js';
import type { ClaimedDelivery } from './claim.js';
import type { DeliverySettings } from './delivery-settings.js';
import { DELIVERY_LIMITS } from './delivery-settings.js';
import { afterFailure } from './schedule.js';
import type { WebhookSecretBox } from './secrets.js';
import { signatureHeader } from './secrets.js';
import type { WebhookResponse, WebhookTransport } from './transport.js';
import { USER_AGENT } from './transport.js';

/**
 * One attempt of a claimed delivery: sign and POST the event, then record the attempt and what comes
 * next (done, a retry at the schedule's time, or giving up) in one statement that only lands while
 * the attempt still holds its lease.
 */

export type AttemptResult = 'succeeded' | 'retry' | 'failed' | 'lost_lease' | 'aborted';

export interface AttemptDeps {
  pool: Pool;
  clock: Clock;
  log: Logger;
  /** Opens the endpoints' sealed signing secrets (secrets.ts). */
  secrets: WebhookSecretBox;
  transport: WebhookTransport;
  /** [0, 1), for the retry jitter. */
  random: () => number;
  settings: DeliverySettings;
  /** Aborted at shutdown: the request stops and its delivery's lease is handed back. */
  signal: AbortSignal;
}

/** What an answered attempt means for its delivery. */
interface Verdict {
  ok: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  next_attempt_ms: number;
  /** Kept with the attempt: the transport's error code, or `http_<status>` for a non-2xx answer. */
  error: string | null;
  give_up_reason: 'attempts' | 'age' | null;
}

/** Sends one claimed delivery and records the attempt and what comes next. */
export async function attemptDelivery(deps: AttemptDeps, delivery: ClaimedDelivery): Promise<AttemptResult> {
  const payload = eventPayload(delivery);
  const started_ms = deps.clock.now_ms();
  const clock_started = performance.now();
  const response = await send(deps, delivery, payload, started_ms);
  if (response.error === 'aborted') {
    await releaseLease(deps.pool, delivery);
    return 'aborted';
  }
  const latency_ms = Math.max(0, Math.round(performance.now() - clock_started));
  const now_ms = deps.clock.now_ms();
  const verdict = judge(deps, delivery, response, now_ms);
  metrics.webhookDelivery(verdict.ok ? 'succeeded' : 'failed', latency_ms / 1000);
  if (response.error === 'destination_not_allowed') metrics.webhookDestinationRefused();
  const recorded = await recordAttempt(deps.pool, delivery, response, verdict, { started_ms, latency_ms });
  const fields = {
    delivery_id: delivery.id,
    event_id: delivery.event_id,
    endpoint_id: delivery.endpoint_id,
    attempt: delivery.attempt,
    http_status: response.status,
    error: verdict.error,
    latency_ms,
  };
  if (!recorded) {
    deps.log.warn(fields, 'webhooks: lease lost during the attempt (too slow, or the endpoint was disabled); the attempt is recorded');
    return 'lost_lease';
  }
  return reportVerdict(deps.log, fields, verdict, now_ms);
}

function eventPayload(delivery: ClaimedDelivery): string {
  return JSON.stringify(
    renderEvent({
      id: delivery.event_id,
      merchant_id: delivery.merchant_id,
      type: delivery.type,
      created: delivery.created,
      data: delivery.data,
      request: delivery.request,
      pending_webhooks: delivery.pending_webhooks,
    }),
  );
}

async function send(deps: AttemptDeps, delivery: ClaimedDelivery, payload: string, started_ms: number): Promise<WebhookResponse> {
  try {
    const secret = await deps.secrets.open(delivery.secret_sealed, delivery.endpoint_id);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': USER_AGENT,
      'stripe-signature': signatureHeader(secret, Math.floor(started_ms / 1000), payload),
    };
    // The span continues the trace of the API request that caused the event (stored with it).
    return await tracedFromStored(
      'webhooks.deliver',
      delivery.request,
      {
        'payrail.event_id': delivery.event_id,
        'payrail.event_type': delivery.type,
        'payrail.webhook_endpoint_id': delivery.endpoint_id,
      },
      () =>
        deps.transport({
          url: delivery.url,
          body: payload,
          headers,
          timeout_ms: deps.settings.timeout_ms,
          excerpt_max: deps.settings.response_excerpt_max,
          signal: deps.signal,
        }),
    );
  } catch (error) {
    // Nothing was sent (a secret that does not open: the key material changed). A failed attempt
    // like any other, so it follows the schedule and gives up, instead of crashing in a loop.
    deps.log.error({ err: error, delivery_id: delivery.id, endpoint_id: delivery.endpoint_id }, 'webhooks: could not prepare the request');
    return { status: null, error: 'internal_error', excerpt: null };
  }
}

/** Shutdown cut the request short: the delivery goes back to the queue at once, for this or another process. */
async function releaseLease(pool: Pool, delivery: ClaimedDelivery): Promise<void> {
  await run(
    pool,
    sql`UPDATE events.webhook_deliveries SET lease_until_ms = NULL, lease_token = NULL
    WHERE id = ${delivery.id} AND lease_token = ${delivery.lease_token} AND status = 'pending'`,
  );
}

function judge(deps: AttemptDeps, delivery: ClaimedDelivery, response: WebhookResponse, now_ms: number): Verdict {
  const ok = response.status !== null && response.status >= 200 && response.status < 300;
  const error = response.error?.slice(0, DELIVERY_LIMITS.error_length_max) ?? (ok ? null : `http_${response.status}`);
  const next = ok
    ? undefined
    : afterFailure(deps.settings.schedule, { failures: delivery.scheduled_attempts, round_started_ms: delivery.round_started_ms, now_ms }, deps.random);
  return {
    ok,
    status: ok ? 'succeeded' : next?.kind === 'retry' ? 'pending' : 'failed',
    next_attempt_ms: next?.kind === 'retry' ? next.at_ms : now_ms,
    error,
    give_up_reason: next?.kind === 'give_up' ? next.reason : null,
  };
}

/** The attempt row and the delivery's next state in one statement; false when the lease was lost meanwhile. */
async function recordAttempt(
  pool: Pool,
  delivery: ClaimedDelivery,
  response: WebhookResponse,
  verdict: Verdict,
  timing: { started_ms: number; latency_ms: number },
): Promise<boolean> {
  const excerpt = response.excerpt === null ? null : stripUnstorable(response.excerpt);
  const updated = await run(
    pool,
    sql`
    WITH recorded AS (
      INSERT INTO events.webhook_attempts (delivery_id, attempt, merchant_id, event_id, endpoint_id, started_ms, latency_ms, http_status, error, response_excerpt)
      VALUES (${delivery.id}, ${delivery.attempt}, ${delivery.merchant_id}, ${delivery.event_id}, ${delivery.endpoint_id}, ${timing.started_ms}, ${timing.latency_ms},
              ${response.status}, ${verdict.error}, ${excerpt})
      ON CONFLICT (delivery_id, attempt) DO NOTHING
    )
    UPDATE events.webhook_deliveries SET status = ${verdict.status}, next_attempt_ms = ${verdict.next_attempt_ms}, lease_until_ms = NULL, lease_token = NULL,
      last_http_status = ${response.status}, last_error = ${verdict.error}
    WHERE id = ${delivery.id} AND lease_token = ${delivery.lease_token} AND status = 'pending'`,
  );
  return updated.rowCount === 1;
}

function reportVerdict(log: Logger, fields: Record<string, unknown>, verdict: Verdict, now_ms: number): AttemptResult {
  if (verdict.ok) {
    log.debug(fields, 'webhook delivered');
    return 'succeeded';
  }
  if (verdict.status === 'failed') {
    log.warn({ ...fields, reason: verdict.give_up_reason }, 'webhook delivery failed for good; resend with: payrail events resend');
    return 'failed';
  }
  log.info({ ...fields, next_attempt_in_ms: verdict.next_attempt_ms - now_ms }, 'webhook attempt failed; will retry');
  return 'retry';
}

/** NUL and lone surrogates cannot be stored in text; a receiver's body may carry anything. */
function stripUnstorable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching NUL is the point: PostgreSQL text cannot hold it.
  return text.replace(/[\u0000\p{Cs}]/gu, '\uFFFD');
}

import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';

/**
 * Operator commands on webhook deliveries (`payrail events …`): resend an event, list deliveries
 * that failed, show every attempt of an event. They work against the database while servers run:
 * a resent delivery is picked up by whichever delivery worker polls next.
 */

export class AdminError extends Error {
  override name = 'AdminError';
}

export interface ResendResult {
  merchant_id: string;
  event_type: string;
  endpoints: string[];
}

/**
 * Queues `event_id` again for one endpoint, or for every enabled endpoint of its merchant that wants
 * its type. Attempts start over (a fresh retry schedule); earlier attempts stay recorded.
 */
export async function resendEvent(db: Db, event_id: string, endpoint_id: string | undefined, now_ms: number): Promise<ResendResult> {
  let found: { merchant_id: string; type: string; object_id: string } | undefined;
  if (endpoint_id !== undefined) {
    const endpoint = await run<{ merchant_id: string; status: string }>(
      db,
      sql`SELECT merchant_id, status FROM events.webhook_endpoints WHERE id = ${endpoint_id}`,
    );
    const row = endpoint.rows[0];
    if (!row) throw new AdminError(`No such webhook endpoint: ${endpoint_id}`);
    if (row.status !== 'enabled') throw new AdminError(`Webhook endpoint ${endpoint_id} is disabled, and disabled endpoints receive nothing; enable it first.`);
    const event = await run<{ merchant_id: string; type: string; object_id: string }>(
      db,
      sql`SELECT merchant_id, type, object_id FROM events.outbox WHERE merchant_id = ${row.merchant_id} AND id = ${event_id}`,
    );
    found = event.rows[0];
    if (!found) throw new AdminError(`No event ${event_id} for the merchant of ${endpoint_id}.`);
  } else {
    // Events are keyed by merchant: look the id up under each merchant that has endpoints (few).
    const event = await run<{ merchant_id: string; type: string; object_id: string }>(
      db,
      sql`
      SELECT o.merchant_id, o.type, o.object_id FROM (SELECT DISTINCT merchant_id FROM events.webhook_endpoints) m
      JOIN events.outbox o ON o.merchant_id = m.merchant_id AND o.id = ${event_id}`,
    );
    found = event.rows[0];
    if (!found) throw new AdminError(`No event ${event_id} belonging to a merchant with webhook endpoints.`);
  }
  const queued = await run<{ endpoint_id: string }>(
    db,
    sql`
    INSERT INTO events.webhook_deliveries (merchant_id, event_id, endpoint_id, event_type, object_id, created_ms, round_started_ms, next_attempt_ms)
    SELECT e.merchant_id, ${event_id}, e.id, ${found.type}, ${found.object_id}, ${now_ms}, ${now_ms}, ${now_ms}
    FROM events.webhook_endpoints e
    WHERE e.merchant_id = ${found.merchant_id} AND e.status = 'enabled'
      AND (e.id = ${endpoint_id ?? null} OR (${endpoint_id ?? null}::text IS NULL AND (e.enabled_events @> ARRAY['*'] OR ${found.type} = ANY(e.enabled_events))))
    ORDER BY e.id
    ON CONFLICT (merchant_id, event_id, endpoint_id) DO UPDATE
      SET status = 'pending', scheduled_attempts = 0, round_started_ms = EXCLUDED.round_started_ms, next_attempt_ms = EXCLUDED.next_attempt_ms
    RETURNING endpoint_id`,
  );
  return { merchant_id: found.merchant_id, event_type: found.type, endpoints: queued.rows.map((row) => row.endpoint_id) };
}

export interface DeliveryRow {
  id: number;
  merchant_id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  status: string;
  attempts: number;
  last_http_status: number | null;
  last_error: string | null;
  last_attempt_ms: number | null;
  next_attempt_ms: number | null;
}

export const ADMIN_LIST_LIMIT_MAX = 1_000;

/** Deliveries that gave up (newest first); with `retrying`, also those still failing and scheduled. */
export async function failedDeliveries(db: Db, options: { limit: number; retrying: boolean }): Promise<DeliveryRow[]> {
  assert(Number.isInteger(options.limit) && options.limit >= 1 && options.limit <= ADMIN_LIST_LIMIT_MAX, 'list limit out of range');
  const result = await run<DeliveryRow>(
    db,
    sql`
    SELECT id, merchant_id, event_id, event_type, endpoint_id, status, attempts, last_http_status, last_error, last_attempt_ms,
           CASE WHEN status = 'pending' THEN next_attempt_ms END AS next_attempt_ms
    FROM events.webhook_deliveries
    WHERE status = 'failed' OR (${options.retrying} AND status = 'pending' AND last_error IS NOT NULL)
    ORDER BY id DESC LIMIT ${options.limit}`,
  );
  return result.rows;
}

export interface AttemptRow {
  endpoint_id: string;
  attempt: number;
  started_ms: number;
  latency_ms: number;
  http_status: number | null;
  error: string | null;
  response_excerpt: string | null;
}

export const ATTEMPTS_LIMIT = 1_000;

/** Every recorded attempt of an event, per endpoint in attempt order (at most ATTEMPTS_LIMIT). */
export async function eventAttempts(db: Db, event_id: string): Promise<AttemptRow[]> {
  const result = await run<AttemptRow>(
    db,
    sql`
    SELECT endpoint_id, attempt, started_ms, latency_ms, http_status, error, response_excerpt
    FROM events.webhook_attempts WHERE event_id = ${event_id}
    ORDER BY endpoint_id, attempt LIMIT ${ATTEMPTS_LIMIT}`,
  );
  return result.rows;
}

/** Text output for the CLI: one line per row, tab-separated, with a header. */
export function formatDeliveries(rows: readonly DeliveryRow[]): string {
  const header = 'delivery\tevent\ttype\tendpoint\tstatus\tattempts\tlast\tlast_attempt\tnext_attempt';
  const lines = rows.map((row) =>
    [
      row.id,
      row.event_id,
      row.event_type,
      row.endpoint_id,
      row.status,
      row.attempts,
      row.last_error ?? String(row.last_http_status ?? '-'),
      iso(row.last_attempt_ms),
      iso(row.next_attempt_ms),
    ].join('\t'),
  );
  return [header, ...lines].join('\n') + '\n';
}

export function formatAttempts(rows: readonly AttemptRow[]): string {
  const header = 'endpoint\tattempt\tstarted\tlatency_ms\tstatus\terror\tresponse';
  const lines = rows.map((row) =>
    [
      row.endpoint_id,
      row.attempt,
      iso(row.started_ms),
      row.latency_ms,
      row.http_status ?? '-',
      row.error ?? '-',
      JSON.stringify((row.response_excerpt ?? '').slice(0, 120)),
    ].join('\t'),
  );
  return [header, ...lines].join('\n') + '\n';
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

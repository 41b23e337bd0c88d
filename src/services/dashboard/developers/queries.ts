import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { CursorPage } from '../list-page.js';
import { pageOf } from '../list-page.js';

/**
 * The developers area's reads, newest first, a page at a time. Each runs through the request path's
 * merchant-scoped pool inside the signed-in user's merchant scope, and names the merchant as well:
 * row-level security holds even if a condition were forgotten. Nothing here selects a secret.
 */

export interface RequestRow {
  request_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  created: number;
  api_key_id: string | null;
}

export async function recentRequests(db: Db, merchant_id: string, limit: number, starting_after: string | undefined): Promise<CursorPage<RequestRow>> {
  const result = await run<RequestRow>(
    db,
    sql`SELECT request_id, method, path, status, latency_ms, (created_ms / 1000)::int AS created, api_key_id
        FROM dashboard.api_requests
        WHERE merchant_id = ${merchant_id} AND (${starting_after ?? null}::text IS NULL OR request_id < ${starting_after ?? null})
        ORDER BY request_id DESC LIMIT ${limit + 1}`,
  );
  return pageOf(result.rows, limit, (row) => row.request_id);
}

export interface EventRow {
  id: string;
  type: string;
  created: number;
}

export async function recentEvents(db: Db, merchant_id: string, limit: number, starting_after: string | undefined): Promise<CursorPage<EventRow>> {
  const result = await run<EventRow>(
    db,
    sql`SELECT id, type, created::int AS created FROM events.outbox
        WHERE merchant_id = ${merchant_id} AND (${starting_after ?? null}::text IS NULL OR id < ${starting_after ?? null})
        ORDER BY id DESC LIMIT ${limit + 1}`,
  );
  return pageOf(result.rows, limit, (row) => row.id);
}

export interface EndpointRow {
  id: string;
  url: string;
  enabled_events: string[];
  status: string;
  description: string | null;
  api_version: string | null;
  created: number;
}

/** A merchant has few endpoints (a limit applies on create): one page holds them all. */
export async function webhookEndpoints(db: Db, merchant_id: string): Promise<EndpointRow[]> {
  const result = await run<EndpointRow>(
    db,
    sql`SELECT id, url, enabled_events, status, description, api_version, created::int AS created
        FROM events.webhook_endpoints WHERE merchant_id = ${merchant_id} ORDER BY id DESC`,
  );
  return result.rows;
}

export async function endpointExists(db: Db, merchant_id: string, endpoint_id: string): Promise<boolean> {
  const result = await run(db, sql`SELECT 1 FROM events.webhook_endpoints WHERE merchant_id = ${merchant_id} AND id = ${endpoint_id}`);
  return result.rowCount === 1;
}

/** One row per attempt (and one for a delivery not yet attempted); `id` is the delivery's, which resend takes. */
export interface DeliveryAttemptRow {
  id: string;
  event_id: string;
  event_type: string;
  delivery_status: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number | null;
  at: number;
  next_retry_at: number | null;
}

export async function deliveryLog(
  db: Db,
  merchant_id: string,
  endpoint_id: string,
  limit: number,
  starting_after: { delivery_id: string; attempt: number } | undefined,
): Promise<CursorPage<DeliveryAttemptRow>> {
  const after_id = starting_after?.delivery_id ?? null;
  const result = await run<DeliveryAttemptRow>(
    db,
    sql`SELECT d.id::text AS id, d.event_id, d.event_type, d.status AS delivery_status, coalesce(a.attempt, 0) AS attempt,
               a.http_status AS status_code, a.error, a.latency_ms, (coalesce(a.started_ms, d.created_ms) / 1000)::int AS at,
               CASE WHEN d.status = 'pending' AND coalesce(a.attempt, 0) = d.attempts THEN (d.next_attempt_ms / 1000)::int END AS next_retry_at
        FROM events.webhook_deliveries d
        LEFT JOIN events.webhook_attempts a ON a.delivery_id = d.id AND a.merchant_id = d.merchant_id
        WHERE d.merchant_id = ${merchant_id} AND d.endpoint_id = ${endpoint_id}
          AND (${after_id}::bigint IS NULL OR (d.id, coalesce(a.attempt, 0)) < (${after_id}::bigint, ${starting_after?.attempt ?? 0}::int))
        ORDER BY d.id DESC, coalesce(a.attempt, 0) DESC LIMIT ${limit + 1}`,
  );
  return pageOf(result.rows, limit, (row) => `${row.id}-${row.attempt}`);
}

export interface DeliveryRef {
  id: string;
  event_id: string;
  endpoint_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_retry_at: number | null;
}

export async function delivery(db: Db, merchant_id: string, delivery_id: string): Promise<DeliveryRef | undefined> {
  const result = await run<DeliveryRef>(
    db,
    sql`SELECT id::text AS id, event_id, endpoint_id, event_type, status, attempts,
               CASE WHEN status = 'pending' THEN (next_attempt_ms / 1000)::int END AS next_retry_at
        FROM events.webhook_deliveries WHERE merchant_id = ${merchant_id} AND id = ${delivery_id}::bigint`,
  );
  return result.rows[0];
}

export interface AuditRow {
  seq: string;
  at: number;
  actor_type: string;
  user_email: string | null;
  action: string;
  target: string | null;
}

/** The merchant's part of the security audit log: dashboard users' actions and every other audited change (keys, refunds, …). */
export async function auditLog(db: Db, merchant_id: string, limit: number, starting_after: string | undefined): Promise<CursorPage<AuditRow>> {
  const result = await run<AuditRow>(
    db,
    // Rows the dashboard wrote carry the email they were made with; others by a dashboard user (a key the
    // merchants service created for one) name the user by id.
    sql`SELECT e.seq::text AS seq, (e.at_ms / 1000)::int AS at, e.actor_type, coalesce(e.data::json ->> 'user_email', u.email) AS user_email,
               e.type AS action, e.object_id AS target
        FROM audit.security_events e
        LEFT JOIN dashboard.users u ON e.actor_type = 'dashboard_user' AND u.id = e.actor_id AND u.merchant_id = e.merchant_id
        WHERE e.merchant_id = ${merchant_id} AND (${starting_after ?? null}::bigint IS NULL OR e.seq < ${starting_after ?? null}::bigint)
        ORDER BY e.seq DESC LIMIT ${limit + 1}`,
  );
  return pageOf(result.rows, limit, (row) => row.seq);
}

import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';

/** What the dashboard's payment timeline shows of the events about a set of objects and their webhooks. */
export interface ObjectEvent {
  id: string;
  type: string;
  created: number;
  object_id: string;
}

export interface DeliveryAttempt {
  event_id: string;
  endpoint_url: string;
  attempt: number;
  status_code: number | null;
  at: number;
}

/** Events (and attempts) one call returns at most: a payment has a handful of each. */
export const OBJECT_HISTORY_MAX = 500;

/** The merchant's events about `object_ids`, oldest first. */
export async function eventsOfObjects(db: Db, merchant_id: string, object_ids: readonly string[]): Promise<ObjectEvent[]> {
  if (object_ids.length === 0) return [];
  const result = await run<{ id: string; type: string; created: string; object_id: string }>(
    db,
    sql`
    SELECT id, type, created, object_id FROM events.outbox
    WHERE merchant_id = ${merchant_id} AND object_id = ANY(${object_ids}::text[])
    ORDER BY created, id LIMIT ${OBJECT_HISTORY_MAX}`,
  );
  return result.rows.map((row) => ({ ...row, created: Number(row.created) }));
}

/** Every webhook attempt of the merchant's `event_ids`, with the endpoint's URL and the response code. */
export async function attemptsOfEvents(db: Db, merchant_id: string, event_ids: readonly string[]): Promise<DeliveryAttempt[]> {
  if (event_ids.length === 0) return [];
  const result = await run<{ event_id: string; endpoint_url: string; attempt: number; status_code: number | null; started_ms: string }>(
    db,
    sql`
    SELECT a.event_id, e.url AS endpoint_url, a.attempt, a.http_status AS status_code, a.started_ms
    FROM events.webhook_deliveries d
    JOIN events.webhook_attempts a ON a.delivery_id = d.id
    JOIN events.webhook_endpoints e ON e.merchant_id = d.merchant_id AND e.id = d.endpoint_id
    WHERE d.merchant_id = ${merchant_id} AND d.event_id = ANY(${event_ids}::text[])
    ORDER BY a.started_ms, a.attempt LIMIT ${OBJECT_HISTORY_MAX}`,
  );
  return result.rows.map((row) => ({
    event_id: row.event_id,
    endpoint_url: row.endpoint_url,
    attempt: row.attempt,
    status_code: row.status_code,
    at: Math.floor(Number(row.started_ms) / 1000),
  }));
}

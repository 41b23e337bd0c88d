import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { EventRequest } from '../adapters/outbox.js';
import type { DeliverySettings } from './delivery-settings.js';
import { DELIVERY_LIMITS } from './delivery-settings.js';

/**
 * Claiming due webhook deliveries: a claim is a lease (`lease_until_ms`, `lease_token`), so several
 * processes share the work and a worker that dies mid-request only delays its deliveries until the
 * lease runs out.
 *
 * Order: per (endpoint, object), first attempts go in commit order and never two at once, so a
 * healthy endpoint sees each payment's events in order. A failed delivery waits for its retry
 * without holding up later events of the same object (Stripe does not promise order either).
 */

/** A leased delivery, with what its attempt needs: the endpoint, its sealed secret and the event. */
export interface ClaimedDelivery {
  id: number;
  merchant_id: string;
  event_id: string;
  endpoint_id: string;
  attempt: number;
  scheduled_attempts: number;
  round_started_ms: number;
  lease_token: string;
  url: string;
  secret_sealed: Buffer;
  type: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request: EventRequest;
  pending_webhooks: number;
}

type ClaimSettings = Pick<DeliverySettings, 'timeout_ms' | 'per_endpoint_concurrency'>;

const CLAIM_LOCK = 'payrail.webhooks.claim';

/** Leases up to `limit` due deliveries: at most per_endpoint_concurrency in flight per endpoint. */
export async function claimDueDeliveries(pool: Pool, settings: ClaimSettings, now_ms: number, limit: number): Promise<ClaimedDelivery[]> {
  // A cheap autocommit peek first: idle polls cost one indexed query and no transaction.
  if (!(await anyDue(pool, now_ms))) return [];
  return withTransaction(pool, async (client) => {
    // Serializes claims across processes so the per-endpoint cap holds globally; a claim takes ms.
    await run(client, sql`SELECT pg_advisory_xact_lock(hashtextextended(${CLAIM_LOCK}, 0))`);
    const claimed = await leaseDue(client, settings, now_ms, limit);
    assert(claimed.length <= limit, 'claimed more deliveries than asked');
    return claimed;
  });
}

async function anyDue(pool: Pool, now_ms: number): Promise<boolean> {
  const due = await run<{ due: boolean }>(
    pool,
    sql`SELECT EXISTS (SELECT 1 FROM events.webhook_deliveries
    WHERE status = 'pending' AND next_attempt_ms <= ${now_ms} AND (lease_until_ms IS NULL OR lease_until_ms <= ${now_ms})) AS due`,
  );
  return due.rows[0]?.due === true;
}

/** One statement: picks the due deliveries in order under the caps, leases them and reads what their attempts need. */
async function leaseDue(client: pg.PoolClient, settings: ClaimSettings, now_ms: number, limit: number): Promise<ClaimedDelivery[]> {
  const token = randomBytes(12).toString('base64url');
  const lease_until_ms = now_ms + settings.timeout_ms + DELIVERY_LIMITS.lease_margin_ms;
  const result = await run<ClaimedDelivery>(
    client,
    sql`
    WITH in_flight AS (
      SELECT endpoint_id, count(*)::int AS n FROM events.webhook_deliveries
      WHERE status = 'pending' AND lease_until_ms IS NOT NULL AND lease_until_ms > ${now_ms}
      GROUP BY endpoint_id
    ), picked AS (
      SELECT d.id, d.next_attempt_ms FROM events.webhook_endpoints e
      LEFT JOIN in_flight f ON f.endpoint_id = e.id
      CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_ms FROM events.webhook_deliveries d
        WHERE d.endpoint_id = e.id AND d.merchant_id = e.merchant_id AND d.status = 'pending' AND d.next_attempt_ms <= ${now_ms}
          AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ${now_ms})
          -- Order per (endpoint, object): an earlier delivery of the object that is due or in flight goes first.
          AND NOT EXISTS (
            SELECT 1 FROM events.webhook_deliveries p
            WHERE p.endpoint_id = d.endpoint_id AND p.object_id = d.object_id AND p.status = 'pending' AND p.id < d.id
              AND (p.next_attempt_ms <= ${now_ms} OR p.lease_until_ms > ${now_ms}))
        ORDER BY d.next_attempt_ms, d.id
        LIMIT greatest(0, ${settings.per_endpoint_concurrency}::int - coalesce(f.n, 0))
      ) d
      WHERE e.status = 'enabled'
      ORDER BY d.next_attempt_ms, d.id
      LIMIT ${limit}
    ), claimed AS (
      UPDATE events.webhook_deliveries d
      SET lease_until_ms = ${lease_until_ms}, lease_token = ${token}, attempts = d.attempts + 1,
          scheduled_attempts = d.scheduled_attempts + 1, last_attempt_ms = ${now_ms}
      FROM picked
      WHERE d.id = picked.id AND d.status = 'pending' AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ${now_ms})
      RETURNING d.id, d.merchant_id, d.event_id, d.endpoint_id, d.attempts, d.scheduled_attempts, d.round_started_ms, d.lease_token
    )
    SELECT c.id, c.merchant_id, c.event_id, c.endpoint_id, c.attempts AS attempt, c.scheduled_attempts, c.round_started_ms, c.lease_token,
           e.url, e.secret_sealed, o.type, o.created, o.data, o.request,
           (SELECT count(*)::int FROM events.webhook_deliveries x WHERE x.merchant_id = c.merchant_id AND x.event_id = c.event_id AND x.status = 'pending') AS pending_webhooks
    FROM claimed c
    JOIN events.webhook_endpoints e ON e.merchant_id = c.merchant_id AND e.id = c.endpoint_id
    JOIN events.outbox o ON o.merchant_id = c.merchant_id AND o.id = c.event_id
    ORDER BY c.id`,
  );
  return result.rows;
}

import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { ConsumerLag } from './consumer.js';
import { CONSUMER_LIMITS } from './consumer.js';

/** What gauges and operators read about a consumer of the outbox: how far behind it is, and what it parked. */

/** How far a consumer is behind the outbox: events not yet passed, and the age of the oldest one. */
export async function consumerLag(db: Db, consumer_name: string, now_s: number): Promise<ConsumerLag> {
  const result = await run<{ events_behind: number; oldest: number | null }>(
    db,
    sql`
    SELECT count(*)::int AS events_behind, min(behind.created) AS oldest
    FROM (SELECT coalesce((SELECT xid FROM events.consumer_offsets WHERE consumer = ${consumer_name}), '0'::xid8) AS xid,
                 coalesce((SELECT seq FROM events.consumer_offsets WHERE consumer = ${consumer_name}), 0) AS seq) o
    CROSS JOIN LATERAL (
      SELECT e.created FROM events.outbox e WHERE (e.xid, e.seq) > (o.xid, o.seq)
      ORDER BY e.xid, e.seq LIMIT ${CONSUMER_LIMITS.lag_count_max}) behind`,
  );
  const row = result.rows[0];
  assert(row !== undefined, 'lag query returned no row');
  return { events_behind: row.events_behind, seconds_behind: row.oldest === null ? 0 : Math.max(0, now_s - row.oldest) };
}

/** Events a consumer parked, newest first, at most `limit`. */
export async function deadLetters(
  db: Db,
  consumer_name: string,
  limit: number,
): Promise<{ event_id: string; type: string; attempts: number; error: string }[]> {
  assert(Number.isInteger(limit) && limit >= 1 && limit <= 1_000, 'dead letter limit out of range');
  const result = await run<{ event_id: string; type: string; attempts: number; error: string }>(
    db,
    sql`
    SELECT event_id, type, attempts, error FROM events.dead_letters WHERE consumer = ${consumer_name} ORDER BY parked_at DESC, event_id LIMIT ${limit}`,
  );
  return result.rows;
}

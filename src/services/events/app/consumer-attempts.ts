import type { Db } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { run, sql } from '../../../platform/db.js';
import type { ConsumedEvent } from './consumer.js';
import { CONSUMER_LIMITS } from './consumer.js';

/**
 * A consumer's failing events, the same for both bindings: each failure counts an attempt
 * (`events.consumer_attempts`); an event out of attempts is parked in `events.dead_letters` with an
 * inbox row, so it is never handed over again; an event applied or passed over loses its count.
 */

/** Counts one more failed attempt of `event_id` (`message`: its `errorText`); answers the count. */
export async function countAttempt(tx: Db, consumer: string, event_id: string, message: string): Promise<number> {
  const result = await run<{ attempts: number }>(
    tx,
    sql`
    INSERT INTO events.consumer_attempts (consumer, event_id, attempts, last_error) VALUES (${consumer}, ${event_id}, 1, ${message})
    ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = events.consumer_attempts.attempts + 1, last_error = EXCLUDED.last_error, updated_at = now()
    RETURNING attempts`,
  );
  const attempts = result.rows[0]?.attempts;
  assert(attempts !== undefined && attempts >= 1, 'attempt count not returned');
  return attempts;
}

/** Parks `event` for good: a dead letter with its last error, and an inbox row so it is never handed over again. */
export async function park(tx: Db, consumer: string, event: ConsumedEvent, attempts: number, message: string): Promise<void> {
  await run(
    tx,
    sql`
    INSERT INTO events.dead_letters (consumer, event_id, merchant_id, type, xid, seq, attempts, error)
    VALUES (${consumer}, ${event.id}, ${event.merchant_id}, ${event.type}, ${event.position.xid}::xid8, ${event.position.seq}, ${attempts}, ${message})
    ON CONFLICT (consumer, event_id) DO NOTHING`,
  );
  await run(
    tx,
    sql`INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id) VALUES (${consumer}, ${event.id}, ${event.merchant_id}) ON CONFLICT DO NOTHING`,
  );
  await forgetAttempts(tx, consumer, [event.id]);
}

/** Drops the attempt counts of `event_ids`, or of every event of the consumer ('all'). */
export async function forgetAttempts(tx: Db, consumer: string, event_ids: readonly string[] | 'all'): Promise<void> {
  if (event_ids === 'all') await run(tx, sql`DELETE FROM events.consumer_attempts WHERE consumer = ${consumer}`);
  else if (event_ids.length > 0) await run(tx, sql`DELETE FROM events.consumer_attempts WHERE consumer = ${consumer} AND event_id = ANY(${event_ids}::text[])`);
}

/** An error as stored and reported: name and message, truncated. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, CONSUMER_LIMITS.error_length_max);
}

import type pg from 'pg';
import type { Db } from '../../../../platform/db.js';
import { run, sql } from '../../../../platform/db.js';
import { assert } from '../../../../kernel/assert.js';
import type { ConsumerLag, OutboxPosition } from '../../app/consumer.js';
import { CONSUMER_LIMITS } from '../../app/consumer.js';
import type { Envelope } from './envelope.js';
import { comparePositions } from './envelope.js';
import { relayOffsetName } from './jetstream.js';

/**
 * A JetStream consumer's durable position (a row of events.jetstream_positions) and the checks that
 * tie it to the stream it was taken in.
 *
 * - `stream_seq` is the last stream sequence consumed, meaningful only in the stream whose creation
 *   time is `stream_created`: a re-created stream starts again at 1.
 * - `outbox` is the outbox position of the last event consumed (applied, parked or not of the
 *   consumer's types). The stream holds the outbox in its commit-safe order (the relay publishes
 *   nothing else, in that order), so the next event applied must be the outbox successor of `outbox`.
 *   A message further on means the stream lost events (re-created empty, truncated, purged or
 *   expired): the consumer then rewinds the relay to `outbox` instead of skipping them.
 */

export interface StreamPosition {
  stream_seq: number;
  stream_created: string | null;
  outbox: OutboxPosition;
}

/** One message of a run, in stream order; `event` null for a message that is not a Payrail event. */
export interface RunItem {
  stream_seq: number;
  event: Envelope | null;
}

export interface RunPlan {
  /** Events that continue the outbox from the position, in order: apply these. */
  apply: Envelope[];
  /** The outbox position after them. */
  outbox: OutboxPosition;
  /** Already consumed (a redelivery, or a replay overlapping what was applied). */
  duplicates: number;
  /** Out of order, but published before the current replay, which brings them again. */
  stale: number;
  /** The first message that skips events of the current generation: replay from `outbox`. */
  gap: { stream_seq: number; event_id: string; found: OutboxPosition; expected: OutboxPosition | null } | null;
}

/**
 * Sorts a run (messages in stream order) against the outbox: `successors` are the outbox positions
 * after `from`, at least as many as the run has events; `generation` the relay's current one.
 */
export function planRun(items: readonly RunItem[], from: OutboxPosition, successors: readonly OutboxPosition[], generation: number): RunPlan {
  const plan: RunPlan = { apply: [], outbox: from, duplicates: 0, stale: 0, gap: null };
  for (const item of items) {
    const event = item.event;
    if (!event) continue;
    if (comparePositions(event.position, plan.outbox) <= 0) {
      plan.duplicates += 1;
      continue;
    }
    const expected = successors[plan.apply.length] ?? null;
    if (expected && comparePositions(event.position, expected) === 0) {
      plan.apply.push(event);
      plan.outbox = event.position;
      continue;
    }
    if (event.generation < generation) {
      plan.stale += 1;
      continue;
    }
    plan.gap = { stream_seq: item.stream_seq, event_id: event.id, found: event.position, expected };
    break;
  }
  return plan;
}

export class PositionStore {
  readonly relay_offset: string;

  constructor(
    readonly consumer: string,
    readonly stream: string,
  ) {
    this.relay_offset = relayOffsetName(stream);
  }

  /**
   * The stored position, created on first use where the same consumer's embedded offset is (it has
   * handled the outbox up to there), or at the outbox's start.
   */
  async load(db: Db): Promise<StreamPosition> {
    await run(
      db,
      sql`
      INSERT INTO events.jetstream_positions (consumer, stream, outbox_xid, outbox_seq)
      SELECT ${this.consumer}, ${this.stream}, coalesce(o.xid, '0'::xid8), coalesce(o.seq, 0)
      FROM (SELECT 1) one LEFT JOIN events.consumer_offsets o ON o.consumer = ${this.consumer}
      ON CONFLICT DO NOTHING`,
    );
    const result = await run<{ stream_seq: number; stream_created: string | null; xid: string; seq: number }>(
      db,
      sql`
      SELECT stream_seq, stream_created, outbox_xid::text AS xid, outbox_seq AS seq
      FROM events.jetstream_positions WHERE consumer = ${this.consumer} AND stream = ${this.stream}`,
    );
    const row = result.rows[0];
    assert(row !== undefined, 'jetstream position row missing');
    return { stream_seq: row.stream_seq, stream_created: row.stream_created, outbox: { xid: row.xid, seq: row.seq } };
  }

  /** Locks the row in `tx`; false when it is no longer at `expected` (another process moved it). */
  async lock(tx: pg.PoolClient, expected: StreamPosition): Promise<boolean> {
    const result = await run<{ stream_seq: number; stream_created: string | null; xid: string; seq: number }>(
      tx,
      sql`
      SELECT stream_seq, stream_created, outbox_xid::text AS xid, outbox_seq AS seq FROM events.jetstream_positions
      WHERE consumer = ${this.consumer} AND stream = ${this.stream} FOR UPDATE`,
    );
    const row = result.rows[0];
    return (
      row !== undefined &&
      row.stream_seq === expected.stream_seq &&
      row.stream_created === expected.stream_created &&
      row.xid === expected.outbox.xid &&
      row.seq === expected.outbox.seq
    );
  }

  /** Writes `next` over `from`; false when the row was no longer at `from`. */
  async save(db: Db, from: StreamPosition, next: StreamPosition): Promise<boolean> {
    const result = await run(
      db,
      sql`
      UPDATE events.jetstream_positions
      SET stream_seq = ${next.stream_seq}, stream_created = ${next.stream_created},
          outbox_xid = ${next.outbox.xid}::xid8, outbox_seq = ${next.outbox.seq}, updated_at = now()
      WHERE consumer = ${this.consumer} AND stream = ${this.stream} AND stream_seq = ${from.stream_seq}
        AND stream_created IS NOT DISTINCT FROM ${from.stream_created}
        AND outbox_xid = ${from.outbox.xid}::xid8 AND outbox_seq = ${from.outbox.seq}`,
    );
    return result.rowCount === 1;
  }

  /** The next `limit` outbox positions after `after`, and the relay's replay generation. */
  async successors(tx: pg.PoolClient, after: OutboxPosition, limit: number): Promise<{ successors: OutboxPosition[]; generation: number }> {
    assert(Number.isInteger(limit) && limit >= 1 && limit <= CONSUMER_LIMITS.batch_size_max, 'successor count out of range');
    const result = await run<{ generation: number | null; xid: string | null; seq: number | null }>(
      tx,
      sql`
      SELECT g.generation, s.xid::text AS xid, s.seq
      FROM (SELECT (SELECT generation FROM events.consumer_offsets WHERE consumer = ${this.relay_offset}) AS generation) g
      LEFT JOIN LATERAL (
        SELECT e.xid, e.seq FROM events.outbox e WHERE (e.xid, e.seq) > (${after.xid}::xid8, ${after.seq})
        ORDER BY e.xid, e.seq LIMIT ${limit}) s ON true`,
    );
    const successors = result.rows.flatMap((row) => (row.xid === null || row.seq === null ? [] : [{ xid: row.xid, seq: row.seq }]));
    return { successors, generation: result.rows[0]?.generation ?? 0 };
  }

  /**
   * Asks the relay to republish everything after `from`: its offset goes back to `from` (if it was
   * past it) and its generation moves on, so the republished messages get new message ids and a relay
   * still publishing the old generation cannot move the offset. Answers the new generation, or null
   * when the relay has no offset yet (it will publish from the start anyway).
   */
  async requestReplay(tx: pg.PoolClient, from: OutboxPosition): Promise<number | null> {
    const result = await run<{ generation: number }>(
      tx,
      sql`
      UPDATE events.consumer_offsets
      SET xid = CASE WHEN (xid, seq) > (${from.xid}::xid8, ${from.seq}) THEN ${from.xid}::xid8 ELSE xid END,
          seq = CASE WHEN (xid, seq) > (${from.xid}::xid8, ${from.seq}) THEN ${from.seq} ELSE seq END,
          generation = generation + 1, updated_at = now()
      WHERE consumer = ${this.relay_offset}
      RETURNING generation`,
    );
    return result.rows[0]?.generation ?? null;
  }

  /** Outbox events after the position (counted up to a bound), and the age of the oldest. */
  async lag(db: Db, now_s: number): Promise<ConsumerLag> {
    const result = await run<{ events_behind: number; oldest: number | null }>(
      db,
      sql`
      SELECT count(*)::int AS events_behind, min(behind.created) AS oldest
      FROM (SELECT coalesce((SELECT outbox_xid FROM events.jetstream_positions WHERE consumer = ${this.consumer} AND stream = ${this.stream}), '0'::xid8) AS xid,
                   coalesce((SELECT outbox_seq FROM events.jetstream_positions WHERE consumer = ${this.consumer} AND stream = ${this.stream}), 0) AS seq) p
      CROSS JOIN LATERAL (
        SELECT e.created FROM events.outbox e WHERE (e.xid, e.seq) > (p.xid, p.seq)
        ORDER BY e.xid, e.seq LIMIT ${CONSUMER_LIMITS.lag_count_max}) behind`,
    );
    const row = result.rows[0];
    assert(row !== undefined, 'lag query returned no row');
    return { events_behind: row.events_behind, seconds_behind: row.oldest === null ? 0 : Math.max(0, now_s - row.oldest) };
  }
}

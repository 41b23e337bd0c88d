import type pg from 'pg';
import type { Pool } from '../../../platform/db.js';
import { isConnectionBroken, joinSql, rawSql, run, sql, withTransaction } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import type { ConsumedEvent, Consumer, ConsumerLag, OutboxPosition } from './consumer.js';
import { CONSUMER_LIMITS } from './consumer.js';
import { consumerLag } from './consumer-status.js';
import { countAttempt, errorText, forgetAttempts, park } from './consumer-attempts.js';

/**
 * Consumers of the outbox, embedded binding: a runner reads `events.outbox` in commit-safe order
 * (see migration events/002_consumers), hands each batch to the consumer inside one transaction,
 * and in that same transaction records the batch's events in the consumer's inbox and moves its
 * offset. A crash mid-batch therefore redoes the whole batch exactly once, and a second delivery of
 * an event (a redone batch, later a replayed bus message) finds its inbox row and has no effect.
 *
 * Wake-up is this process's commit signal plus a poll of at most 100 ms (startPolling), not
 * LISTEN/NOTIFY: NOTIFY takes a cluster-wide lock at commit, which would serialize every payment's commit.
 */

export type RoundResult =
  /** Another process holds this consumer right now; it does the work. */
  | { kind: 'busy' }
  /** Nothing committed beyond the offset. */
  | { kind: 'caught_up' }
  /** The consumer wanted none of what was committed (`wants_none_if`): the offset moved past it all, unread. */
  | { kind: 'passed_over' }
  /** `read` events passed (`applied` of them handed to the consumer); `full` means more may be waiting. */
  | { kind: 'applied'; read: number; applied: number; parked: number; full: boolean }
  /** An event failed and will be retried: the offset stops just before it. */
  | { kind: 'retry_later'; read: number; applied: number; parked: number; event_id: string; attempts: number; error: string };

interface OutboxRow {
  xid: string;
  seq: number;
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  object_id: string;
  data: ConsumedEvent['data'] | null;
  internal: ConsumedEvent['internal'] | null;
}

export class OutboxConsumerRunner {
  private readonly batch_size: number;
  private readonly attempts_max: number;
  private registered = false;
  /** After a round that found nothing, the next starts with a cheap peek. */
  private idle = true;
  /** Set when an attempt row may exist, so a later success clears it. */
  private attempts_pending = false;

  constructor(
    private readonly pool: Pool,
    readonly consumer: Consumer,
    options: { batch_size?: number; attempts_max?: number } = {},
  ) {
    this.batch_size = options.batch_size ?? CONSUMER_LIMITS.batch_size_default;
    this.attempts_max = options.attempts_max ?? CONSUMER_LIMITS.attempts_max;
    assert(Number.isInteger(this.batch_size) && this.batch_size >= 1 && this.batch_size <= CONSUMER_LIMITS.batch_size_max, 'consumer batch size out of range');
    assert(Number.isInteger(this.attempts_max) && this.attempts_max >= 1 && this.attempts_max <= 100, 'consumer attempts out of range');
    assert(/^[a-z][a-z0-9_.-]{0,63}$/.test(consumer.name), `consumer name ${consumer.name} must be a short lowercase identifier`);
  }

  /**
   * One round: read a batch past the offset, apply it, move the offset, all in one transaction.
   * If the batch fails, it is rolled back and redone in a second transaction, one event at a time.
   */
  async runOnce(): Promise<RoundResult> {
    if (!this.registered) {
      await run(this.pool, sql`INSERT INTO events.consumer_offsets (consumer) VALUES (${this.consumer.name}) ON CONFLICT (consumer) DO NOTHING`);
      this.registered = true;
    }
    // When idle, a cheap autocommit peek first: an idle poll costs one query and takes no xid.
    if (this.idle && !(await this.hasWork())) return { kind: 'caught_up' };
    let result = await this.inTransaction((client) => this.round(client, 'batch'));
    if (result === 'batch_failed') result = await this.inTransaction((client) => this.round(client, 'isolate'));
    assert(result !== 'batch_failed', 'isolation mode never fails as a batch');
    this.idle = result.kind === 'caught_up' || result.kind === 'busy' || result.kind === 'passed_over';
    return result;
  }

  lag(now_s: number): Promise<ConsumerLag> {
    return consumerLag(this.pool, this.consumer.name, now_s);
  }

  private async hasWork(): Promise<boolean> {
    // LATERAL, so the offset is an index bound: a plain join compares it row by row over the whole outbox.
    const result = await run<{ more: boolean }>(
      this.pool,
      sql`SELECT EXISTS (
      SELECT 1 FROM events.consumer_offsets o CROSS JOIN LATERAL (
        SELECT 1 FROM events.outbox e
        WHERE (e.xid, e.seq) > (o.xid, o.seq) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.xid, e.seq LIMIT 1) next
      WHERE o.consumer = ${this.consumer.name}) AS more`,
    );
    return result.rows[0]?.more === true;
  }

  /** One transaction around `work`; a 'batch_failed' answer or a throw rolls back. */
  private async inTransaction(work: (client: pg.PoolClient) => Promise<RoundResult | 'batch_failed'>): Promise<RoundResult | 'batch_failed'> {
    try {
      // The consumer's lock goes with BEGIN in one round trip, taken before anything that writes so
      // this transaction has no xid yet when it reads the outbox. The name is checked in the constructor.
      return await withTransaction(
        this.pool,
        async (client, first) => {
          if ((first?.rows[0] as { locked?: boolean } | undefined)?.locked !== true) return { kind: 'busy' as const };
          const result = await work(client);
          if (result === 'batch_failed') throw new BatchRefused();
          return result;
        },
        { first_statement: `SELECT pg_try_advisory_xact_lock(hashtextextended('payrail.consumer:${this.consumer.name}', 0)) AS locked` },
      );
    } catch (error) {
      if (error instanceof BatchRefused) return 'batch_failed';
      throw error;
    }
  }

  private async round(client: pg.PoolClient, mode: 'batch' | 'isolate'): Promise<RoundResult | 'batch_failed'> {
    if (await this.passOverAll(client)) {
      // An event that was failing is now behind the offset, unwanted: its attempt count goes too.
      if (this.attempts_pending) await this.clearAttempts(client, 'all');
      return { kind: 'passed_over' };
    }
    const rows = await this.readBatch(client);
    if (rows.length === 0) return { kind: 'caught_up' };
    if (mode === 'isolate') return this.isolate(client, rows);
    const relevant = rows.filter((row) => row.data !== null).map(toEvent);
    const fresh = await this.recordBatch(client, relevant, lastOf(rows));
    const batch = relevant.filter((event) => fresh.has(event.id));
    try {
      if (batch.length > 0) await this.consumer.handle(batch, client);
    } catch (error) {
      // The consumer refused the batch: roll it all back and find the culprit one event at a time.
      // A dead connection is not the events' fault: the round fails whole and is retried, no attempt counted.
      if (isConnectionBroken(error)) throw error;
      return 'batch_failed';
    }
    if (this.attempts_pending) await this.clearAttempts(client, eventIds(relevant));
    return { kind: 'applied', read: rows.length, applied: batch.length, parked: 0, full: rows.length === this.batch_size };
  }

  /** One statement: the events into the inbox (answering which are new) and the offset forward. */
  private async recordBatch(client: pg.PoolClient, events: readonly ConsumedEvent[], last: OutboxPosition): Promise<Set<string>> {
    const result = await run<{ moved: number; fresh: string[] }>(
      client,
      sql`
      WITH inbox AS (
        INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id)
        SELECT ${this.consumer.name}, u.event_id, u.merchant_id FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.merchant_id)}::text[]) AS u(event_id, merchant_id)
        ON CONFLICT (consumer, event_id) DO NOTHING
        RETURNING event_id
      ), moved AS (
        UPDATE events.consumer_offsets SET xid = ${last.xid}::xid8, seq = ${last.seq}, updated_at = now()
        WHERE consumer = ${this.consumer.name} AND (xid, seq) < (${last.xid}::xid8, ${last.seq})
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM moved)::int AS moved, coalesce((SELECT array_agg(event_id) FROM inbox), '{}') AS fresh`,
    );
    const row = result.rows[0];
    assert(row?.moved === 1, `consumer ${this.consumer.name}: offset did not move forward`);
    return new Set(row.fresh);
  }

  /**
   * When the consumer wants no event right now (`wants_none_if`), the offset moves to the newest
   * committed event in one statement: its snapshot is the one that condition was checked in, so
   * every event passed over was committed while nothing wanted it.
   */
  private async passOverAll(client: pg.PoolClient): Promise<boolean> {
    if (!this.consumer.wants_none_if) return false;
    const result = await run(
      client,
      joinSql(
        [
          sql`
      WITH newest AS (
        SELECT e.xid, e.seq FROM events.outbox e
        WHERE e.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.xid DESC, e.seq DESC LIMIT 1)
      UPDATE events.consumer_offsets o SET xid = newest.xid, seq = newest.seq, updated_at = now()
      FROM newest
      WHERE o.consumer = ${this.consumer.name} AND (o.xid, o.seq) < (newest.xid, newest.seq) AND (`,
          this.consumer.wants_none_if,
          rawSql(')'),
        ],
        '',
      ),
    );
    return result.rowCount === 1;
  }

  /** Rows past the offset whose transactions have all finished, in (xid, seq) order. */
  private async readBatch(client: pg.PoolClient): Promise<OutboxRow[]> {
    // The offset is read here, after the lock was taken (its own statement, its own snapshot), and
    // joined LATERAL so it bounds the index range scan. `wanted` is worked out below the LIMIT, so once
    // per row read; an unwanted row's data is never detoasted.
    const result = await run<OutboxRow>(
      client,
      joinSql(
        [
          sql`
      SELECT e.xid::text AS xid, e.seq, e.id, e.merchant_id, e.type, e.created, e.object_id,
             CASE WHEN e.wanted THEN e.data END AS data,
             CASE WHEN e.wanted THEN e.request -> 'internal' END AS internal
      FROM events.consumer_offsets o CROSS JOIN LATERAL (
        SELECT e.*, e.type = ANY(${this.consumer.types}::text[]) AND (`,
          this.consumer.wanted_if ?? rawSql('true'),
          sql`) AS wanted
        FROM events.outbox e
        WHERE (e.xid, e.seq) > (o.xid, o.seq) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.xid, e.seq
        LIMIT ${this.batch_size}) e
      WHERE o.consumer = ${this.consumer.name}
      ORDER BY e.xid, e.seq`,
        ],
        '',
      ),
    );
    assert(result.rows.length <= this.batch_size, 'outbox read returned more than its limit');
    return result.rows;
  }

  /** Records the events in the inbox and hands the ones not seen before to the consumer. */
  private async apply(client: pg.PoolClient, events: readonly ConsumedEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const inserted = await run<{ event_id: string }>(
      client,
      sql`
      INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id)
      SELECT ${this.consumer.name}, u.event_id, u.merchant_id FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.merchant_id)}::text[]) AS u(event_id, merchant_id)
      ON CONFLICT (consumer, event_id) DO NOTHING
      RETURNING event_id`,
    );
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    const batch = events.filter((event) => fresh.has(event.id));
    if (batch.length > 0) await this.consumer.handle(batch, client);
    return batch.length;
  }

  /**
   * The batch failed: apply its events one at a time, each under its own savepoint. Events before
   * the failing one commit; the failing one counts an attempt, and once out of attempts is parked
   * (dead letter plus inbox row) so the consumer moves on.
   */
  private async isolate(client: pg.PoolClient, rows: readonly OutboxRow[]): Promise<RoundResult> {
    let applied = 0;
    let parked = 0;
    for (const [index, row] of rows.entries()) {
      if (row.data === null) continue;
      const event = toEvent(row);
      await client.query('SAVEPOINT consumer_event');
      try {
        applied += await this.apply(client, [event]);
        await client.query('RELEASE SAVEPOINT consumer_event');
        continue;
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT consumer_event');
        const message = errorText(error);
        this.attempts_pending = true;
        const attempts = await countAttempt(client, this.consumer.name, event.id, message);
        if (attempts < this.attempts_max) {
          const before = rows[index - 1];
          if (before) await this.moveOffset(client, before);
          return { kind: 'retry_later', read: index, applied, parked, event_id: event.id, attempts, error: message };
        }
        await park(client, this.consumer.name, event, attempts, message);
        parked += 1;
      }
    }
    await this.clearAttempts(client, eventIds(rows.filter((row) => row.data !== null)));
    await this.moveOffset(client, lastOf(rows));
    return { kind: 'applied', read: rows.length, applied, parked, full: rows.length === this.batch_size };
  }

  private async clearAttempts(client: pg.PoolClient, event_ids: readonly string[] | 'all'): Promise<void> {
    await forgetAttempts(client, this.consumer.name, event_ids);
    this.attempts_pending = false;
  }

  private async moveOffset(client: pg.PoolClient, position: { xid: string; seq: number }): Promise<void> {
    const result = await run(
      client,
      sql`UPDATE events.consumer_offsets SET xid = ${position.xid}::xid8, seq = ${position.seq}, updated_at = now()
      WHERE consumer = ${this.consumer.name} AND (xid, seq) < (${position.xid}::xid8, ${position.seq})`,
    );
    assert(result.rowCount === 1, `consumer ${this.consumer.name}: offset did not move forward`);
  }
}

function toEvent(row: OutboxRow): ConsumedEvent {
  assert(row.data !== null, `event ${row.id} read without its data`);
  return {
    id: row.id,
    merchant_id: row.merchant_id,
    type: row.type,
    created: row.created,
    object_id: row.object_id,
    data: row.data,
    ...(row.internal ? { internal: row.internal } : {}),
    position: { xid: row.xid, seq: row.seq },
  };
}

/** Thrown out of a batch the consumer refused, so the helper rolls it back; never leaves this file. */
class BatchRefused extends Error {}

function lastOf(rows: readonly OutboxRow[]): OutboxRow {
  const last = rows[rows.length - 1];
  assert(last !== undefined, 'empty batch has no last position');
  return last;
}

/** The ids whose attempt counts a round clears. */
function eventIds(events: readonly { id: string }[]): string[] {
  return events.map((event) => event.id);
}

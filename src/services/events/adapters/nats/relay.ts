import type { PubAck } from '@nats-io/jetstream';
import type { Pool } from '../../../../platform/db.js';
import { run, sql } from '../../../../platform/db.js';
import type { Logger } from '../../../../platform/logger.js';
import { assert } from '../../../../kernel/assert.js';
import type { JetStreamHandle, NatsSettings } from './jetstream.js';
import { ensureStream, relayOffsetName, subjectOf } from './jetstream.js';
import type { JetStreamSource } from './link.js';
import { AdvisoryLeader } from './leader.js';
import { messageId } from './envelope.js';
import { Alarm } from '../../../../platform/alarm.js';
import { onCommit } from '../../../../platform/write/commit-signal.js';

/** The longest wait of a caught-up relay: it bounds the lag for commits of other processes. */
export const RELAY_IDLE_MAX_MS = 100;

/**
 * The outbox → JetStream relay. It reads committed outbox rows in the commit-safe (xid, seq) order
 * the embedded consumers use (see events/002_consumers), publishes them with message id = event id,
 * and only then moves its durable offset (a row in events.consumer_offsets).
 *
 * - Nothing committed is skipped: the offset passes a row only after JetStream acknowledged it.
 * - Nothing rolled back is sent: rolled-back rows never become visible.
 * - A relay killed mid-batch re-publishes the batch from the offset; JetStream drops the ids it
 *   already stored (duplicate window), so the stream holds each event once.
 * - Several relays may run: one leads (PostgreSQL advisory lock on its own connection), the others
 *   stand by. Each publishes in offset order on one connection and stores only what JetStream
 *   acknowledged in order, so even two relays overlapping for a moment (a leader that lost its
 *   database connection mid-batch) publish the same sequence, and the stream keeps that order.
 * - A consumer that finds events missing from the stream (re-created empty, truncated) rewinds the
 *   offset and bumps its generation (position.ts): the relay then republishes from there under new
 *   message ids, and a relay still busy with the old generation cannot move the offset past the rewind.
 * - While NATS is unreachable the relay does nothing and the outbox keeps the events; after a failed
 *   publish it ensures the stream exists again (a NATS that lost its store comes back without it).
 */

export type RelayRound =
  { kind: 'offline' } | { kind: 'standby' } | { kind: 'idle' } | { kind: 'published'; read: number; stored: number; duplicates: number; full: boolean };

/** Test hook: publish only the first `crash_after_publishing` rows of the next batch, then fail as a killed relay would (offset not moved). */
export interface RelayFaults {
  crash_after_publishing?: number;
}

export interface RelayDeps {
  pool: Pool;
  nats: JetStreamSource;
  settings: NatsSettings;
  logger: Logger;
  faults?: RelayFaults;
  /**
   * Waits of a caught-up relay, instead of relay_idle_ms doubling to RELAY_IDLE_MAX_MS, with the first
   * relay_idle_ms of each held against commits (tests: waits long enough that only a wake explains a publish).
   */
  idle?: RelayIdleWaits;
}

export interface RelayIdleWaits {
  idle_ms: number;
  idle_max_ms: number;
  wake_gap_ms: number;
}

interface OutboxRow {
  xid: string;
  seq: number;
  id: string;
  merchant_id: string;
  type: string;
  payload: string;
  /** The offset's replay generation when the batch was read (the same on every row). */
  generation: number;
}

export class NatsRelay {
  readonly leader: AdvisoryLeader;
  readonly offset_name: string;
  private readonly log: Logger;
  private registered = false;
  /** Set after a failed round: the stream may be gone, ensure it before publishing again. */
  private stream_suspect = false;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly alarm = new Alarm();
  /** Waiting after a caught-up round: a commit in this process ends the wait. */
  private waiting_idle = false;
  /** A commit in this process since the current round began. */
  private woken = false;
  private unsubscribe_commits: (() => void) | undefined;

  constructor(private readonly deps: RelayDeps) {
    this.offset_name = relayOffsetName(deps.settings.stream);
    this.leader = new AdvisoryLeader(deps.pool, `payrail.relay:${deps.settings.stream}`);
    this.log = deps.logger.child({ worker: 'nats-relay', stream: deps.settings.stream });
  }

  /** One round: lead (or stand by), read a batch past the offset, publish it, move the offset. */
  async step(): Promise<RelayRound> {
    const nats = this.deps.nats.handle;
    if (!nats || !this.deps.nats.connected) return { kind: 'offline' };
    if (!(await this.leader.tryAcquire())) return { kind: 'standby' };
    const db = this.leader.connection;
    try {
      if (!this.registered) {
        await run(db, sql`INSERT INTO events.consumer_offsets (consumer) VALUES (${this.offset_name}) ON CONFLICT (consumer) DO NOTHING`);
        this.registered = true;
      }
      const rows = await this.readBatch();
      if (rows.length === 0) return { kind: 'idle' };
      if (this.stream_suspect) {
        await ensureStream(nats.jsm, this.deps.settings);
        this.stream_suspect = false;
      }
      const crash_after = this.deps.faults?.crash_after_publishing;
      const results = await this.publish(nats, crash_after === undefined ? rows : rows.slice(0, crash_after));
      const { acked, duplicates } = this.acknowledgedPrefix(results);
      if (crash_after !== undefined) throw new Error(`relay killed after publishing ${acked} of ${rows.length} (test fault)`);
      const last = rows[acked - 1];
      if (last) await this.moveOffset(last);
      const failed = results[acked];
      if (failed && failed.status === 'rejected') throw failed.reason;
      return { kind: 'published', read: rows.length, stored: acked - duplicates, duplicates, full: rows.length === this.deps.settings.relay_batch_size };
    } catch (error) {
      // Lost database or publish failure: give the lead up; whoever leads next resumes from the offset.
      this.stream_suspect = true;
      this.leader.markLost();
      await this.leader.release();
      throw error;
    }
  }

  /** Publishes the rows at once, each under its event's message id; the answers come back in row order. */
  private async publish(nats: JetStreamHandle, rows: readonly OutboxRow[]): Promise<PromiseSettledResult<PubAck>[]> {
    const publishing = Promise.allSettled(
      rows.map((row) =>
        nats.js.publish(subjectOf(this.deps.settings, row.merchant_id, row.type), row.payload, {
          msgID: messageId(row.id, row.generation),
          timeout: this.deps.settings.publish_timeout_ms,
        }),
      ),
    );
    // A connection lost mid-batch answers none of what is in flight: give the batch up at once (the
    // offset stays) instead of waiting out the publish timeout; after reconnecting it is sent again
    // and JetStream drops what it had stored already.
    const results = await Promise.race([publishing, this.deps.nats.lost().then(() => null)]);
    if (results === null) throw new Error('NATS connection lost while publishing; the batch is sent again once it is back');
    return results;
  }

  /** Only the acknowledged prefix counts: the offset never passes an event JetStream may lack. */
  private acknowledgedPrefix(results: readonly PromiseSettledResult<PubAck>[]): { acked: number; duplicates: number } {
    let acked = 0;
    let duplicates = 0;
    for (const result of results) {
      if (result.status !== 'fulfilled') break;
      const ack: PubAck = result.value;
      assert(
        ack.stream === this.deps.settings.stream,
        `event stored in stream ${ack.stream}, expected ${this.deps.settings.stream}: two streams capture the subject`,
      );
      if (ack.duplicate) duplicates += 1;
      acked += 1;
    }
    return { acked, duplicates };
  }

  /**
   * Runs in the background until stop(). Caught up, it waits from relay_idle_ms doubling up to
   * RELAY_IDLE_MAX_MS, and this process's commits (the commit signal) end that wait past its first
   * relay_idle_ms.
   */
  start(): void {
    assert(this.loop === undefined, 'relay started twice');
    const settings = this.deps.settings;
    const idle = this.idleWaits();
    this.unsubscribe_commits = onCommit(() => {
      this.woken = true;
      if (this.waiting_idle) this.alarm.ring();
    });
    this.loop = (async () => {
      let failures = 0;
      let idle_wait_ms = idle.idle_ms;
      while (!this.stopping) {
        let wait_ms = settings.standby_retry_ms;
        let caught_up = false;
        this.woken = false;
        try {
          const round = await this.step();
          failures = 0;
          if (round.kind === 'published') {
            idle_wait_ms = idle.idle_ms;
            continue;
          }
          caught_up = round.kind === 'idle';
        } catch (error) {
          failures = Math.min(failures + 1, 20);
          wait_ms = Math.min(5_000, 100 * 2 ** (failures - 1));
          if (!this.stopping) this.log.warn({ err: error }, 'relay: round failed, backing off');
        }
        if (caught_up) {
          // Its first wake_gap_ms holds whatever commits: under load the relay polls no more often than it did.
          await this.sleep(idle.wake_gap_ms, false);
          await this.sleep(idle_wait_ms - idle.wake_gap_ms, true);
          idle_wait_ms = Math.min(idle_wait_ms * 2, idle.idle_max_ms);
        } else {
          await this.sleep(wait_ms, false);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe_commits?.();
    this.alarm.ring();
    await this.loop;
    await this.leader.release();
  }

  private idleWaits(): RelayIdleWaits {
    const first_ms = this.deps.settings.relay_idle_ms;
    const idle = this.deps.idle ?? { idle_ms: first_ms, idle_max_ms: Math.max(first_ms, RELAY_IDLE_MAX_MS), wake_gap_ms: first_ms };
    assert(idle.idle_ms > 0 && idle.idle_max_ms >= idle.idle_ms && idle.wake_gap_ms >= 0, 'relay idle waits out of range');
    return idle;
  }

  /**
   * Only a caught-up relay's wait ends on a commit (a standby or failing relay has nothing to gain from
   * it), at once if one came during the round: it may have committed after the round's read.
   */
  private async sleep(ms: number, until_commit: boolean): Promise<void> {
    if (this.stopping || ms <= 0 || (until_commit && this.woken)) return;
    this.waiting_idle = until_commit;
    await this.alarm.sleep(ms);
    this.waiting_idle = false;
  }

  private async readBatch(): Promise<OutboxRow[]> {
    const result = await run<OutboxRow>(
      this.leader.connection,
      sql`
      SELECT e.xid::text AS xid, e.seq, e.id, e.merchant_id, e.type, g.generation,
             json_build_object('id', e.id, 'merchant_id', e.merchant_id, 'type', e.type, 'created', e.created, 'object_id', e.object_id,
                               'data', e.data, 'request', e.request, 'position', json_build_object('xid', e.xid::text, 'seq', e.seq),
                               'generation', g.generation)::text AS payload
      FROM events.outbox e
      CROSS JOIN (SELECT o.generation FROM events.consumer_offsets o WHERE o.consumer = ${this.offset_name}) g
      -- The offset as two scalar subqueries, not a join: only then is the row comparison an index
      -- condition on outbox_by_xid (a join filter would walk the whole outbox on every poll).
      WHERE (e.xid, e.seq) > ((SELECT o.xid FROM events.consumer_offsets o WHERE o.consumer = ${this.offset_name}),
                              (SELECT o.seq FROM events.consumer_offsets o WHERE o.consumer = ${this.offset_name}))
        AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.xid, e.seq
      LIMIT ${this.deps.settings.relay_batch_size}`,
    );
    assert(result.rows.length <= this.deps.settings.relay_batch_size, 'relay read more than its batch');
    return result.rows;
  }

  private async moveOffset(row: OutboxRow): Promise<void> {
    const result = await run(
      this.leader.connection,
      sql`UPDATE events.consumer_offsets SET xid = ${row.xid}::xid8, seq = ${row.seq}, updated_at = now()
      WHERE consumer = ${this.offset_name} AND generation = ${row.generation} AND (xid, seq) < (${row.xid}::xid8, ${row.seq})`,
    );
    // Zero rows: a relay that overlapped this one already moved past (the stream de-duplicated), or a
    // consumer rewound the offset for a replay meanwhile (the next round republishes from there).
    if (result.rowCount !== 1) this.log.info({ event_id: row.id }, 'relay: offset moved meanwhile (another relay overlapped, or a replay was requested)');
  }
}

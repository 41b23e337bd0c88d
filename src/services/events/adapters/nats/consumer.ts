import type { ConsumerMessages } from '@nats-io/jetstream';
import type { Pool } from '../../../../platform/db.js';
import type { Logger } from '../../../../platform/logger.js';
import type { NatsDiscontinuityReason } from '../../../../platform/metric-labels.js';
import { metrics } from '../../../../platform/metrics.js';
import { assert } from '../../../../kernel/assert.js';
import type { Consumer, ConsumerLag } from '../../app/consumer.js';
import type { JetStreamHandle, NatsSettings } from './jetstream.js';
import { durableName, ensureDurableConsumer, resetDurableConsumer } from './jetstream.js';
import type { JetStreamSource } from './link.js';
import { AdvisoryLeader } from './leader.js';
import type { StreamPosition } from './position.js';
import { PositionStore } from './position.js';
import { RunApplier } from './apply.js';
import { DeliveredMessages } from './delivered.js';
import { Alarm } from '../../../../platform/alarm.js';

/**
 * The NATS binding of a `Consumer`: a durable JetStream pull consumer (explicit acks, bounded
 * redelivery) feeding the same `handle(batch, tx)` the embedded runner calls, with the same inbox.
 *
 * Messages are taken in stream order from the position (position.ts); a message is acknowledged only
 * after the transaction that applied or passed it commits (apply.ts). So:
 * - a redelivered message (ack lost, process died) is at or below the position: acknowledged, no effect;
 * - a gap in what JetStream delivered (an earlier message held by a process that died) is filled by
 *   reading those sequences straight from the stream instead of waiting for their redelivery;
 * - a stream that was re-created (new creation time) or truncated (sequence numbers reused) moves the
 *   position to the new sequence numbers, loudly; events the stream lost are replayed from the outbox;
 * - two processes never apply the same run (the row lock), and one leads at a time (advisory lock).
 * A failing event is retried in place (messages held, `working()` sent), then parked.
 */

export interface JetStreamConsumerDeps {
  pool: Pool;
  nats: JetStreamSource;
  settings: NatsSettings;
  logger: Logger;
  consumer: Consumer;
  /** Called after a batch that handed events to the consumer commits. */
  onApplied?: (count: number) => void;
}

export type ConsumeRound =
  | { kind: 'offline' }
  | { kind: 'standby' }
  | { kind: 'idle' }
  | { kind: 'applied'; read: number; applied: number; parked: number }
  | { kind: 'retry_later'; event_id: string; attempts: number; error: string };

const RETRY_BACKOFF_MS = { first: 200, max: 5_000 } as const;
/** While idle, the stream's identity and length are checked this often (a truncation delivers nothing). */
export const STREAM_CHECK_INTERVAL_MS = 5_000;
/** Subscription notifications that mean the durable consumer is gone with its stream. */
const SUBSCRIPTION_LOST: ReadonlySet<string> = new Set(['consumer_deleted', 'consumer_not_found', 'stream_not_found']);

export class JetStreamConsumerWorker {
  readonly leader: AdvisoryLeader;
  readonly durable: string;
  readonly store: PositionStore;
  private readonly applier: RunApplier;
  private readonly log: Logger;
  private readonly delivered = new DeliveredMessages();
  private subscription: ConsumerMessages | undefined;
  private position: StreamPosition | undefined;
  private resubscribe = false;
  /** A message arrived since the round began: the next sleep ends at once. */
  private arrived = false;
  private checked_at_ms = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();

  constructor(private readonly deps: JetStreamConsumerDeps) {
    this.durable = durableName(deps.consumer.name);
    this.leader = new AdvisoryLeader(deps.pool, `payrail.jetstream:${deps.settings.stream}:${deps.consumer.name}`);
    this.log = deps.logger.child({ worker: 'nats-consumer', consumer: deps.consumer.name, stream: deps.settings.stream });
    this.store = new PositionStore(deps.consumer.name, deps.settings.stream);
    this.applier = new RunApplier({ pool: deps.pool, consumer: deps.consumer, store: this.store, attempts_max: deps.settings.attempts_max, logger: this.log });
    metrics.natsConsumerStarted(deps.consumer.name);
  }

  /** Outbox events this consumer has not passed yet (read from the database, so right while NATS is down). */
  lag(now_s: number): Promise<ConsumerLag> {
    return this.store.lag(this.deps.pool, now_s);
  }

  /** One round: lead (or stand by), then apply what has arrived, in stream order. */
  async step(): Promise<ConsumeRound> {
    this.arrived = false;
    const nats = this.deps.nats.handle;
    if (!nats || !this.deps.nats.connected) return { kind: 'offline' };
    // The lead lost underneath (its connection failed), or the durable went with its stream.
    if (this.subscription && (!this.leader.held || this.resubscribe)) await this.resign();
    if (!this.leader.held) {
      if (!(await this.leader.tryAcquire())) return { kind: 'standby' };
      try {
        await this.takeLead(nats);
      } catch (error) {
        await this.resign();
        throw error;
      }
    }
    try {
      const round = await this.applyDelivered(nats);
      if (round.kind === 'idle' && Date.now() - this.checked_at_ms >= STREAM_CHECK_INTERVAL_MS) await this.checkStream(nats);
      return round;
    } catch (error) {
      await this.resign();
      throw error;
    }
  }

  start(): void {
    assert(this.loop === undefined, 'consumer worker started twice');
    this.loop = (async () => {
      let failures = 0;
      while (!this.stopping) {
        let wait_ms = this.deps.settings.relay_idle_ms * 50;
        try {
          const round = await this.step();
          if (round.kind === 'applied') {
            failures = 0;
            continue;
          }
          if (round.kind === 'standby' || round.kind === 'offline') wait_ms = this.deps.settings.standby_retry_ms;
          if (round.kind === 'retry_later') {
            failures = Math.min(failures + 1, 20);
            wait_ms = Math.min(RETRY_BACKOFF_MS.max, RETRY_BACKOFF_MS.first * 2 ** (failures - 1));
            this.log.warn({ event_id: round.event_id, attempts: round.attempts, error: round.error }, 'nats consumer: event failed, will retry');
            this.delivered.working();
          } else {
            failures = 0;
          }
        } catch (error) {
          failures = Math.min(failures + 1, 20);
          wait_ms = Math.min(RETRY_BACKOFF_MS.max, RETRY_BACKOFF_MS.first * 2 ** (failures - 1));
          if (!this.stopping) this.log.warn({ err: error }, 'nats consumer: round failed, backing off');
        }
        // Idle waits end as soon as a message arrives.
        await this.sleep(wait_ms);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.alarm.ring();
    await this.loop;
    await this.resign();
  }

  /** Gives up the lead: stop receiving; held messages go back to JetStream unacknowledged. */
  async resign(): Promise<void> {
    await this.unsubscribe();
    this.position = undefined;
    this.resubscribe = false;
    if (this.leader.held) this.leader.markLost();
    await this.leader.release();
  }

  private async takeLead(nats: JetStreamHandle): Promise<void> {
    await ensureDurableConsumer(nats.jsm, this.deps.settings, this.durable);
    this.position = await this.store.load(this.leader.connection);
    await this.checkStream(nats);
    await this.subscribe(nats);
  }

  private async subscribe(nats: JetStreamHandle): Promise<void> {
    const consumer = await nats.js.consumers.get(this.deps.settings.stream, this.durable);
    const subscription = await consumer.consume({
      max_messages: this.deps.settings.consumer_batch_size,
      callback: (message) => {
        this.delivered.push(message);
        this.arrived = true;
        this.alarm.ring();
      },
    });
    this.subscription = subscription;
    void (async () => {
      for await (const status of subscription.status()) {
        if (SUBSCRIPTION_LOST.has(status.type) && this.subscription === subscription) {
          this.resubscribe = true;
          this.alarm.ring();
        }
      }
    })().catch(() => {});
  }

  private async unsubscribe(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    this.delivered.clear();
    if (subscription) await Promise.resolve(subscription.close()).catch(() => {});
  }

  /**
   * Ties the position to the stream: adopts the stream's creation time on first use; a new creation
   * time (re-created) or a stream shorter than the position (truncated), or a message `reused_seq` at
   * or below the position carrying an event past it, moves the position to the new sequence numbers.
   */
  private async checkStream(nats: JetStreamHandle, reused_seq?: number): Promise<void> {
    const position = this.position;
    assert(position !== undefined, 'position not loaded');
    const info = await nats.jsm.streams.info(this.deps.settings.stream);
    this.checked_at_ms = Date.now();
    let reason: NatsDiscontinuityReason | undefined;
    let stream_seq = position.stream_seq;
    if (position.stream_created !== null && position.stream_created !== info.created) {
      reason = 'recreated';
      stream_seq = 0;
    } else if (reused_seq !== undefined) {
      reason = 'truncated';
      stream_seq = reused_seq - 1;
    } else if (info.state.last_seq < position.stream_seq) {
      reason = 'truncated';
      stream_seq = info.state.last_seq;
    } else if (position.stream_created !== null) {
      return;
    }
    const next: StreamPosition = { ...position, stream_seq, stream_created: info.created };
    if (!(await this.store.save(this.leader.connection, position, next))) throw new Error('jetstream position moved by another process');
    this.position = next;
    if (reason === undefined) return;
    metrics.natsStreamDiscontinuity(this.deps.consumer.name, reason);
    this.log.error(
      {
        reason,
        previous: { stream_seq: position.stream_seq, created: position.stream_created },
        now: { stream_seq, created: info.created, last_seq: info.state.last_seq },
      },
      `nats consumer: the stream was ${reason === 'recreated' ? 're-created' : 'truncated'}; the position moves to its sequence numbers and events it lacks are replayed from the outbox`,
    );
    if (reused_seq !== undefined) return; // JetStream already delivers those sequences
    await resetDurableConsumer(nats.jsm, this.deps.settings, this.durable, stream_seq + 1);
    if (this.subscription) {
      await this.unsubscribe();
      await this.subscribe(nats);
    }
  }

  private sleep(ms: number): Promise<void> {
    // Only news ends a wait early: messages merely still held (offline, standby, waiting for a
    // retry) would otherwise make this loop spin without ever yielding to timers.
    if (this.arrived && !this.stopping) return Promise.resolve();
    return this.alarm.sleep(ms);
  }

  /** Applies the next run of delivered (or hole-filled) messages. */
  private async applyDelivered(nats: JetStreamHandle): Promise<ConsumeRound> {
    assert(this.position !== undefined, 'position not loaded');
    const reused_seq = this.delivered.reusedSequence(this.position);
    if (reused_seq !== undefined) await this.checkStream(nats, reused_seq);
    const from = this.position;
    // Redeliveries of what the position covers: acknowledged, no effect.
    this.delivered.ackThrough(from.stream_seq);
    if (this.delivered.size === 0) return { kind: 'idle' };
    const size = this.applier.runLimit(from.stream_seq + 1, this.deps.settings.consumer_batch_size);
    const items = await this.delivered.nextRun(nats, this.deps.settings.stream, from.stream_seq, size);
    for (const item of items)
      if (!item.event && item.messages.length > 0) this.log.error({ stream_seq: item.stream_seq }, 'nats consumer: message is not a Payrail event; skipping');
    if (items.length === 0) return { kind: 'idle' };
    const outcome = await this.applier.applyRun(items, from);
    if (outcome.kind === 'retry_later') return outcome;
    this.position = outcome.kind === 'moved_elsewhere' ? await this.store.load(this.deps.pool) : outcome.position;
    if (outcome.kind === 'moved_elsewhere') {
      this.log.info({ ours: from.stream_seq, database: this.position.stream_seq }, 'nats consumer: position moved elsewhere; catching up');
      return { kind: 'applied', read: 0, applied: 0, parked: 0 };
    }
    this.delivered.ackThrough(this.position.stream_seq);
    metrics.consumerEvents(this.deps.consumer.name, 'applied', outcome.applied);
    metrics.consumerEvents(this.deps.consumer.name, 'parked', outcome.parked);
    if (outcome.applied > 0) this.deps.onApplied?.(outcome.applied);
    return { kind: 'applied', read: items.length, applied: outcome.applied, parked: outcome.parked };
  }
}

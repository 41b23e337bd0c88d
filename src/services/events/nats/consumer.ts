import type pg from 'pg';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { assert } from '../../../kernel/assert.js';
import type { ConsumedEvent, Consumer } from '../consumer.js';
import { CONSUMER_LIMITS } from '../consumer.js';
import type { JetStreamHandle, NatsSettings } from './jetstream.js';
import { durableName, ensureDurableConsumer } from './jetstream.js';
import { AdvisoryLeader } from './leader.js';

/**
 * The NATS binding of a `Consumer`: a durable JetStream pull consumer (explicit acks, bounded
 * redelivery) feeding the same `handle(batch, tx)` the embedded runner calls, with the same inbox.
 *
 * The stream sequence is the order. The consumer's position (the last stream sequence applied) is a
 * row in PostgreSQL, locked and moved in the transaction of the effects; a message is acknowledged
 * only after that commits. So:
 * - a redelivered message (ack lost, process died) is at or below the position: acknowledged, no effect;
 * - messages are applied strictly in stream order: a gap (an earlier message still unacknowledged
 *   elsewhere, e.g. held by a process that died) is filled by reading those sequences straight from
 *   the stream instead of waiting for their redelivery;
 * - two processes can never apply the same sequence (the row lock), and one leads at a time
 *   (advisory lock) so they do not fight over messages.
 * An event whose handling keeps failing is retried in place (messages held, `working()` sent), then
 * parked in events.dead_letters after `attempts_max` failures, exactly as the embedded runner does.
 */

export interface JetStreamConsumerDeps {
  pool: Pool;
  nats: JetStreamHandle;
  settings: NatsSettings;
  logger: Logger;
  consumer: Consumer;
  /** Called after a batch that handed events to the consumer commits. */
  onApplied?: (count: number) => void;
}

export type ConsumeRound =
  | { kind: 'standby' }
  | { kind: 'idle' }
  | { kind: 'applied'; read: number; applied: number; parked: number }
  | { kind: 'retry_later'; event_id: string; attempts: number; error: string };

interface Envelope {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  object_id: string;
  data: ConsumedEvent['data'];
  position: { xid: string; seq: number };
}

interface Item {
  stream_seq: number;
  /** Absent when the message was read straight from the stream to fill a gap. */
  messages: JsMsg[];
  event: Envelope | null;
}

const RETRY_BACKOFF_MS = { first: 200, max: 5_000 } as const;

export class JetStreamConsumerWorker {
  readonly leader: AdvisoryLeader;
  readonly durable: string;
  private readonly log: Logger;
  private readonly types: ReadonlySet<string>;
  private queue: JsMsg[] = [];
  private subscription: ConsumerMessages | undefined;
  private applied_seq: number | undefined;
  /** While set, events go one per transaction up to this sequence (a batch failed; find the culprit). */
  private single_until = 0;
  private attempts_pending = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake_up: (() => void) | undefined;
  private ensured = false;

  constructor(private readonly deps: JetStreamConsumerDeps) {
    this.durable = durableName(deps.consumer.name);
    this.leader = new AdvisoryLeader(deps.pool, `payrail.jetstream:${deps.settings.stream}:${deps.consumer.name}`);
    this.log = deps.logger.child({ worker: 'nats-consumer', consumer: deps.consumer.name });
    this.types = new Set(deps.consumer.types);
  }

  /** The last stream sequence applied (from the database), and how far the stream is ahead of it. */
  async lag(): Promise<{ stream_seq: number; events_behind: number }> {
    const position = await this.loadPosition(this.deps.pool);
    const info = await this.deps.nats.jsm.streams.info(this.deps.settings.stream);
    return { stream_seq: position, events_behind: Math.max(0, info.state.last_seq - position) };
  }

  /** One round: lead (or stand by), then apply what has arrived, in stream order. */
  async step(): Promise<ConsumeRound> {
    if (!this.ensured) {
      await ensureDurableConsumer(this.deps.nats.jsm, this.deps.settings, this.durable);
      this.ensured = true;
    }
    // The lead lost underneath (its connection failed): stop receiving before trying again.
    if (this.subscription && !this.leader.held) await this.resign();
    if (!this.leader.held) {
      if (!(await this.leader.tryAcquire())) return { kind: 'standby' };
      try {
        await this.subscribe();
      } catch (error) {
        await this.resign();
        throw error;
      }
    }
    try {
      return await this.applyQueued();
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
          if (round.kind === 'standby') wait_ms = this.deps.settings.standby_retry_ms;
          if (round.kind === 'retry_later') {
            failures = Math.min(failures + 1, 20);
            wait_ms = Math.min(RETRY_BACKOFF_MS.max, RETRY_BACKOFF_MS.first * 2 ** (failures - 1));
            this.log.warn({ event_id: round.event_id, attempts: round.attempts, error: round.error }, 'nats consumer: event failed, will retry');
            for (const message of this.queue) message.working();
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
    this.wake_up?.();
    await this.loop;
    await this.resign();
  }

  /** Gives up the lead: stop receiving; held messages go back to JetStream unacknowledged. */
  async resign(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) await Promise.resolve(subscription.close()).catch(() => {});
    this.queue = [];
    this.applied_seq = undefined;
    if (this.leader.held) this.leader.markLost();
    await this.leader.release();
  }

  private async subscribe(): Promise<void> {
    this.applied_seq = await this.loadPosition(this.leader.connection);
    const consumer = await this.deps.nats.js.consumers.get(this.deps.settings.stream, this.durable);
    this.subscription = await consumer.consume({
      max_messages: this.deps.settings.consumer_batch_size,
      callback: (message) => {
        this.queue.push(message);
        this.wake_up?.();
      },
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.queue.length > 0 && this.leader.held && !this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake_up = undefined; resolve(); }, ms);
      this.wake_up = () => { clearTimeout(timer); this.wake_up = undefined; resolve(); };
    });
  }

  private async loadPosition(db: pg.PoolClient | Pool): Promise<number> {
    await run(db, sql`INSERT INTO events.jetstream_positions (consumer, stream) VALUES (${this.deps.consumer.name}, ${this.deps.settings.stream}) ON CONFLICT DO NOTHING`);
    const result = await run<{ stream_seq: number }>(db, sql`SELECT stream_seq FROM events.jetstream_positions WHERE consumer = ${this.deps.consumer.name} AND stream = ${this.deps.settings.stream}`);
    const seq = result.rows[0]?.stream_seq;
    assert(seq !== undefined, 'jetstream position row missing');
    return seq;
  }

  /** Applies the next contiguous run of queued (or gap-filled) messages. */
  private async applyQueued(): Promise<ConsumeRound> {
    assert(this.applied_seq !== undefined, 'position not loaded');
    // Redeliveries of what is already applied: acknowledge and drop.
    const fresh: JsMsg[] = [];
    for (const message of this.queue) {
      if (message.seq <= this.applied_seq) message.ack();
      else fresh.push(message);
    }
    this.queue = fresh;
    if (this.queue.length === 0) return { kind: 'idle' };

    const run_items = await this.nextRun(this.applied_seq);
    if (run_items.length === 0) return { kind: 'idle' };
    const outcome = await this.applyRun(run_items);
    if (outcome.kind !== 'retry_later') {
      // Acknowledge exactly what the database position now covers.
      this.applied_seq = outcome.position;
      const waiting: JsMsg[] = [];
      for (const message of this.queue) {
        if (message.seq <= outcome.position) message.ack();
        else waiting.push(message);
      }
      this.queue = waiting;
      if (outcome.applied > 0) this.deps.onApplied?.(outcome.applied);
      return { kind: 'applied', read: run_items.length, applied: outcome.applied, parked: outcome.parked };
    }
    return outcome;
  }

  /** From `after + 1`: queued messages in order, with any missing sequence read from the stream. */
  private async nextRun(after: number): Promise<Item[]> {
    const by_seq = new Map<number, JsMsg[]>();
    for (const message of this.queue) by_seq.set(message.seq, [...(by_seq.get(message.seq) ?? []), message]);
    const size = after + 1 <= this.single_until ? 1 : this.deps.settings.consumer_batch_size;
    const items: Item[] = [];
    let seq = after + 1;
    let first_seq: number | undefined;
    while (items.length < size) {
      const messages = by_seq.get(seq);
      if (messages) {
        items.push({ stream_seq: seq, messages, event: parse(messages[0]?.data) });
      } else {
        // A gap: is anything queued beyond it? Otherwise the run simply ends here.
        const beyond = this.queue.some((message) => message.seq > seq);
        if (!beyond) break;
        first_seq ??= (await this.deps.nats.jsm.streams.info(this.deps.settings.stream)).state.first_seq;
        if (seq < first_seq) {
          this.log.error({ from: seq, to: first_seq - 1 }, 'nats consumer: events left the stream (max_age) before this consumer applied them; skipping');
          items.push({ stream_seq: first_seq - 1, messages: [], event: null });
          seq = first_seq;
          continue;
        }
        const stored = await this.deps.nats.jsm.streams.getMessage(this.deps.settings.stream, { seq });
        items.push({ stream_seq: seq, messages: [], event: stored ? parse(stored.data) : null });
      }
      seq += 1;
    }
    return items;
  }

  /**
   * One transaction: move the position row from where this worker left it (which also locks it, and
   * finds out if another process moved it meanwhile), record the inbox, hand the fresh events to the
   * consumer. Five round trips on the happy path. On failure: split the run to find the culprit,
   * count its attempt, and park it when out of attempts.
   */
  private async applyRun(items: readonly Item[]): Promise<{ kind: 'done'; position: number; applied: number; parked: number } | Extract<ConsumeRound, { kind: 'retry_later' }>> {
    const last = items[items.length - 1];
    const from = this.applied_seq;
    assert(last !== undefined && from !== undefined, 'empty run, or position not loaded');
    const events = items.flatMap((item) => (item.event && this.types.has(item.event.type) ? [toConsumed(item.event)] : []));
    for (const item of items) if (!item.event && item.messages.length > 0) this.log.error({ stream_seq: item.stream_seq }, 'nats consumer: message is not a Payrail event; skipping');
    const outcome = await this.transaction(async (client) => {
      if (!(await this.movePosition(client, from, last.stream_seq))) return 'moved_elsewhere' as const;
      const applied = await this.apply(client, events);
      if (this.attempts_pending && events.length > 0) {
        await run(client, sql`DELETE FROM events.consumer_attempts WHERE consumer = ${this.deps.consumer.name} AND event_id = ANY(${events.map((e) => e.id)}::text[])`);
      }
      return applied;
    }).catch((error: unknown) => ({ error }));
    if (outcome === 'moved_elsewhere') {
      const position = await this.loadPosition(this.deps.pool);
      this.log.info({ ours: from, database: position }, 'nats consumer: position moved elsewhere; catching up');
      return { kind: 'done', position, applied: 0, parked: 0 };
    }
    if (typeof outcome === 'number') {
      if (events.length > 0) this.attempts_pending = false;
      return { kind: 'done', position: last.stream_seq, applied: outcome, parked: 0 };
    }
    if (items.length > 1) {
      // Find the culprit one event at a time, up to the end of this run.
      this.single_until = last.stream_seq;
      return this.applyRun(items.slice(0, 1));
    }
    const event = events[0];
    if (event === undefined) throw outcome.error; // not the consumer's failure: the database's
    const message = errorText(outcome.error);
    this.attempts_pending = true;
    return this.transaction(async (client) => {
      const counted = await run<{ attempts: number }>(client, sql`
        INSERT INTO events.consumer_attempts (consumer, event_id, attempts, last_error) VALUES (${this.deps.consumer.name}, ${event.id}, 1, ${message})
        ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = events.consumer_attempts.attempts + 1, last_error = EXCLUDED.last_error, updated_at = now()
        RETURNING attempts`);
      const attempts = counted.rows[0]?.attempts ?? 1;
      if (attempts < this.deps.settings.attempts_max) return { kind: 'retry_later' as const, event_id: event.id, attempts, error: message };
      await run(client, sql`
        INSERT INTO events.dead_letters (consumer, event_id, merchant_id, type, xid, seq, attempts, error)
        VALUES (${this.deps.consumer.name}, ${event.id}, ${event.merchant_id}, ${event.type}, ${event.position.xid}::xid8, ${event.position.seq}, ${attempts}, ${message})
        ON CONFLICT (consumer, event_id) DO NOTHING`);
      await run(client, sql`INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id) VALUES (${this.deps.consumer.name}, ${event.id}, ${event.merchant_id}) ON CONFLICT DO NOTHING`);
      await run(client, sql`DELETE FROM events.consumer_attempts WHERE consumer = ${this.deps.consumer.name} AND event_id = ${event.id}`);
      // Parking moves past the event; if the position moved elsewhere meanwhile, the next round sees it.
      await this.movePosition(client, from, last.stream_seq);
      this.log.error({ event_id: event.id, attempts, error: message }, 'nats consumer: event parked in events.dead_letters');
      return { kind: 'done' as const, position: last.stream_seq, applied: 0, parked: 1 };
    });
  }

  /** Runs `work` in a transaction on a pool connection that a lost connection cannot crash. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.deps.pool.connect();
    const ignore = () => {};
    client.on('error', ignore);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  private async apply(client: pg.PoolClient, events: readonly ConsumedEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const inserted = await run<{ event_id: string }>(client, sql`
      INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id)
      SELECT ${this.deps.consumer.name}, u.event_id, u.merchant_id FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.merchant_id)}::text[]) AS u(event_id, merchant_id)
      ON CONFLICT (consumer, event_id) DO NOTHING
      RETURNING event_id`);
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    const batch = events.filter((event) => fresh.has(event.id));
    if (batch.length > 0) await this.deps.consumer.handle(batch, client);
    return batch.length;
  }

  /** Moves the position from `from` to `to`; false when it is no longer at `from` (another process moved it). */
  private async movePosition(client: pg.PoolClient, from: number, to: number): Promise<boolean> {
    assert(to > from, 'jetstream position only moves forward');
    const moved = await run(client, sql`UPDATE events.jetstream_positions SET stream_seq = ${to}, updated_at = now()
      WHERE consumer = ${this.deps.consumer.name} AND stream = ${this.deps.settings.stream} AND stream_seq = ${from}`);
    return moved.rowCount === 1;
  }
}

function parse(data: Uint8Array | undefined): Envelope | null {
  if (!data) return null;
  try {
    const value = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<Envelope>;
    if (typeof value.id !== 'string' || typeof value.merchant_id !== 'string' || typeof value.type !== 'string' || typeof value.position?.xid !== 'string') return null;
    return value as Envelope;
  } catch {
    return null;
  }
}

function toConsumed(event: Envelope): ConsumedEvent {
  return { id: event.id, merchant_id: event.merchant_id, type: event.type, created: event.created, object_id: event.object_id, data: event.data, position: event.position };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, CONSUMER_LIMITS.error_length_max);
}

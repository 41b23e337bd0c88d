import type pg from 'pg';
import type { Pool } from '../../../../platform/db.js';
import { joinSql, rawSql, run, sql, withTransaction } from '../../../../platform/db.js';
import type { Logger } from '../../../../platform/logger.js';
import { metrics } from '../../../../platform/metrics.js';
import { assert } from '../../../../kernel/assert.js';
import type { Consumer } from '../../app/consumer.js';
import { countAttempt, errorText, forgetAttempts, park } from '../../app/consumer-attempts.js';
import type { Envelope } from './envelope.js';
import { toConsumed } from './envelope.js';
import type { PositionStore, RunItem, RunPlan, StreamPosition } from './position.js';
import { planRun } from './position.js';

/**
 * Applies a run of stream messages to a consumer in one transaction: lock the position row (finding
 * out if another process moved it), check the run against the outbox (planRun), record the inbox and
 * hand the fresh events to the consumer, ask for a replay if the stream lacks events, move the
 * position. A failing run is retried one event at a time to find the culprit, whose attempts are
 * counted; it is parked in events.dead_letters after `attempts_max`, as the embedded runner does.
 */

export type ApplyOutcome =
  | { kind: 'moved_elsewhere' }
  | { kind: 'done'; position: StreamPosition; applied: number; parked: number }
  | { kind: 'retry_later'; event_id: string; attempts: number; error: string };

export interface RunApplierDeps {
  pool: Pool;
  consumer: Consumer;
  store: PositionStore;
  attempts_max: number;
  logger: Logger;
}

export class RunApplier {
  private readonly types: ReadonlySet<string>;
  /** While set, events go one per transaction up to this sequence (a batch failed; find the culprit). */
  private single_until = 0;
  private attempts_pending = false;

  constructor(private readonly deps: RunApplierDeps) {
    this.types = new Set(deps.consumer.types);
  }

  /** How many messages the run starting at `first_seq` may hold. */
  runLimit(first_seq: number, batch_size: number): number {
    return first_seq <= this.single_until ? 1 : batch_size;
  }

  async applyRun(items: readonly RunItem[], from: StreamPosition): Promise<ApplyOutcome> {
    const last = items[items.length - 1];
    assert(last !== undefined, 'empty run');
    const outcome = await withTransaction(this.deps.pool, (tx) => this.commitRun(tx, items, from)).catch((error: unknown) => ({
      kind: 'failed' as const,
      error,
    }));
    if (outcome.kind === 'done') {
      if (outcome.had_events) this.attempts_pending = false;
      this.report(outcome.plan, outcome.replay_generation);
      return { kind: 'done', position: outcome.position, applied: outcome.applied, parked: 0 };
    }
    if (outcome.kind === 'moved_elsewhere') return outcome;
    if (items.length > 1) {
      this.single_until = last.stream_seq;
      return this.applyRun(items.slice(0, 1), from);
    }
    return this.recordFailure(last, from, outcome.error);
  }

  private async commitRun(tx: pg.PoolClient, items: readonly RunItem[], from: StreamPosition) {
    if (!(await this.deps.store.lock(tx, from))) return { kind: 'moved_elsewhere' as const };
    const plan = await this.plan(tx, items, from);
    // The replay request commits with the position that passes over the messages after the gap.
    const replay_generation = plan.gap ? await this.deps.store.requestReplay(tx, plan.outbox) : null;
    const applied = await this.handle(tx, plan.apply);
    const position = await this.moveTo(tx, from, items, plan);
    return { kind: 'done' as const, position, applied, plan, replay_generation, had_events: plan.apply.length > 0 };
  }

  private async plan(tx: pg.PoolClient, items: readonly RunItem[], from: StreamPosition): Promise<RunPlan> {
    const events = items.filter((item) => item.event !== null).length;
    if (events === 0) return planRun(items, from.outbox, [], 0);
    const { successors, generation } = await this.deps.store.successors(tx, from.outbox, events);
    return planRun(items, from.outbox, successors, generation);
  }

  private async moveTo(tx: pg.PoolClient, from: StreamPosition, items: readonly RunItem[], plan: RunPlan): Promise<StreamPosition> {
    const last = items[items.length - 1];
    assert(last !== undefined && last.stream_seq > from.stream_seq, 'a run moves the position forward');
    const position: StreamPosition = { stream_seq: last.stream_seq, stream_created: from.stream_created, outbox: plan.outbox };
    assert(await this.deps.store.save(tx, from, position), 'position row changed under its lock');
    return position;
  }

  /** Records the inbox and hands the consumer its fresh events; answers how many it got. */
  private async handle(tx: pg.PoolClient, events: readonly Envelope[]): Promise<number> {
    const mine = events.filter((event) => this.types.has(event.type)).map(toConsumed);
    if (this.attempts_pending && mine.length > 0) {
      await forgetAttempts(
        tx,
        this.deps.consumer.name,
        mine.map((e) => e.id),
      );
    }
    if (mine.length === 0) return 0;
    // Only the events the consumer wants (`wanted_if`) get an inbox row and are handed over.
    const inbox = sql`
      INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id)
      SELECT ${this.deps.consumer.name}, e.event_id, e.merchant_id
      FROM unnest(${mine.map((e) => e.id)}::text[], ${mine.map((e) => e.merchant_id)}::text[], ${mine.map((e) => e.type)}::text[],
                  ${mine.map((e) => e.created)}::bigint[]) AS e(event_id, merchant_id, type, created)
      WHERE `;
    const inserted = await run<{ event_id: string }>(
      tx,
      joinSql([inbox, this.deps.consumer.wanted_if ?? rawSql('true'), rawSql(' ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id')], ''),
    );
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    const batch = mine.filter((event) => fresh.has(event.id));
    if (batch.length > 0) await this.deps.consumer.handle(batch, tx);
    return batch.length;
  }

  /** One event failed on its own: count the attempt, and park it when out of attempts. */
  private async recordFailure(item: RunItem, from: StreamPosition, error: unknown): Promise<ApplyOutcome> {
    const message = errorText(error);
    return withTransaction(this.deps.pool, async (tx): Promise<ApplyOutcome> => {
      if (!(await this.deps.store.lock(tx, from))) return { kind: 'moved_elsewhere' };
      const plan = await this.plan(tx, [item], from);
      const event = plan.apply[0];
      // Not an event the consumer was handed: the failure was the database's, not the consumer's.
      if (event === undefined || !this.types.has(event.type)) throw error;
      this.attempts_pending = true;
      const attempts = await countAttempt(tx, this.deps.consumer.name, event.id, message);
      if (attempts < this.deps.attempts_max) return { kind: 'retry_later', event_id: event.id, attempts, error: message };
      await park(tx, this.deps.consumer.name, event, attempts, message);
      const position = await this.moveTo(tx, from, [item], plan);
      this.deps.logger.error({ event_id: event.id, attempts, error: message }, 'nats consumer: event parked in events.dead_letters');
      return { kind: 'done', position, applied: 0, parked: 1 };
    });
  }

  private report(plan: RunPlan, replay_generation: number | null): void {
    if (!plan.gap) return;
    const { gap } = plan;
    metrics.natsStreamDiscontinuity(this.deps.consumer.name, 'gap');
    this.deps.logger.error(
      {
        stream_seq: gap.stream_seq,
        event_id: gap.event_id,
        found: gap.found,
        expected: gap.expected,
        replay_from: plan.outbox,
        replay_generation,
      },
      'nats consumer: the stream lacks events this consumer has not applied (stream re-created, truncated or expired); the relay replays them from the outbox',
    );
  }
}

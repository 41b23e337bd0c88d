import type pg from 'pg';
import type { SqlFragment } from '../../../platform/db.js';

/**
 * What a consumer of the outbox is: a name, the event types it wants, and a handler that applies a
 * batch inside the transaction that also records the batch in its inbox and moves its offset. The
 * embedded binding runs it with OutboxConsumerRunner (consumer-runner.ts), the NATS binding with
 * JetStreamConsumerWorker (nats/consumer.ts). Both record each event in the consumer's inbox in that
 * transaction, so an event handed over twice has its effect once.
 */

export interface ConsumedEvent {
  id: string;
  merchant_id: string;
  type: string;
  /** Unix seconds, as on the Stripe event. */
  created: number;
  object_id: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  /** The producer's internal facts (EventDraft.internal), when it gave any; never part of the Stripe event. */
  internal?: Readonly<Record<string, string>>;
  position: OutboxPosition;
}

/** A place in the outbox's commit-safe order: the writing transaction's id, then its seq. */
export interface OutboxPosition {
  /** xid8 as decimal text: 64 bits do not fit a JavaScript number. */
  xid: string;
  seq: number;
}

export interface Consumer {
  /** Names the offset, inbox and dead letters; never change it for a consumer in use. */
  readonly name: string;
  /** Event types handed to `handle`; the offset moves past every other event without reading its data. */
  readonly types: readonly string[];
  /**
   * Narrows `types` event by event: a boolean SQL condition on the event `e` (only `e.merchant_id`,
   * `e.type` and `e.created`), evaluated when the batch is read. An event it is false for is passed like
   * one of another type: no data read, no inbox row, not handed to `handle`. Omitted: every event of `types`.
   */
  readonly wanted_if?: SqlFragment;
  /**
   * A boolean SQL condition on nothing but tables (no event): while it holds, `wanted_if` is false for
   * every event, so a round moves the offset to the newest committed event without reading any.
   */
  readonly wants_none_if?: SqlFragment;
  /**
   * Applies the batch's effects in `tx`, the transaction that also records the inbox and offset.
   * Throwing undoes the whole batch; its events are then retried one at a time to find the culprit.
   */
  handle(batch: readonly ConsumedEvent[], tx: pg.PoolClient): Promise<void>;
}

export const CONSUMER_LIMITS = {
  /** Events read per round; one transaction holds them all. */
  batch_size_max: 1_000,
  batch_size_default: 500,
  /** Attempts of one failing event before it is parked in the dead letters. */
  attempts_max: 5,
  /** Errors are stored truncated: an error message is no place for a megabyte. */
  error_length_max: 2_000,
  /** lag() counts at most this many events: beyond it, "very far behind" is all that matters. */
  lag_count_max: 1_000_000,
} as const;

export interface ConsumerLag {
  events_behind: number;
  seconds_behind: number;
}

import type { ConsumedEvent, OutboxPosition } from '../../app/consumer.js';

/**
 * What the relay publishes for one outbox row (built in SQL by the relay) and how consumers read it
 * back. `position` is the row's place in the outbox's commit-safe order: the stream holds the outbox in
 * that order, so a consumer checks each message against the outbox and notices events the stream lost.
 * `generation` is the relay's replay generation the message was published in (0 before any replay).
 */
export interface Envelope {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  object_id: string;
  data: ConsumedEvent['data'];
  /** The stored request envelope (trace context, internal facts): read here only for `internal`. */
  request?: { internal?: ConsumedEvent['internal'] };
  position: OutboxPosition;
  generation: number;
}

/** JetStream message id: the event id, suffixed in replays so JetStream does not drop them as duplicates. */
export function messageId(event_id: string, generation: number): string {
  return generation === 0 ? event_id : `${event_id}:replay${generation}`;
}

/** The envelope in a message, or null when the message is not a Payrail event. */
export function parseEnvelope(data: Uint8Array | undefined): Envelope | null {
  if (!data) return null;
  try {
    const value = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<Envelope>;
    if (typeof value.id !== 'string' || typeof value.merchant_id !== 'string' || typeof value.type !== 'string') return null;
    if (typeof value.position?.xid !== 'string' || !/^\d+$/.test(value.position.xid) || !Number.isSafeInteger(value.position.seq)) return null;
    return { ...value, generation: Number.isSafeInteger(value.generation) ? value.generation : 0 } as Envelope;
  } catch {
    return null;
  }
}

export function toConsumed(event: Envelope): ConsumedEvent {
  return {
    id: event.id,
    merchant_id: event.merchant_id,
    type: event.type,
    created: event.created,
    object_id: event.object_id,
    data: event.data,
    ...(event.request?.internal ? { internal: event.request.internal } : {}),
    position: event.position,
  };
}

/** Orders outbox positions as the outbox does: by transaction id, then seq. */
export function comparePositions(a: OutboxPosition, b: OutboxPosition): number {
  const by_xid = BigInt(a.xid) - BigInt(b.xid);
  if (by_xid !== 0n) return by_xid < 0n ? -1 : 1;
  return Math.sign(a.seq - b.seq);
}

import type { JsMsg } from '@nats-io/jetstream';
import type { JetStreamHandle } from './jetstream.js';
import type { RunItem, StreamPosition } from './position.js';
import { comparePositions, parseEnvelope } from './envelope.js';

/**
 * What JetStream has delivered to the leading consumer and is not yet acknowledged, and the runs
 * taken from it in stream order. Holes in what was delivered (a message still held by a process that
 * died) are filled by reading the sequence straight from the stream.
 */

export interface DeliveredItem extends RunItem {
  /** Empty when the message was read straight from the stream to fill a hole. */
  messages: JsMsg[];
}

export class DeliveredMessages {
  private messages: JsMsg[] = [];

  get size(): number {
    return this.messages.length;
  }

  push(message: JsMsg): void {
    this.messages.push(message);
  }

  /** Forgets everything unacknowledged (JetStream redelivers it after ack_wait). */
  clear(): void {
    this.messages = [];
  }

  /** Keeps JetStream from redelivering what is held while an event is retried. */
  working(): void {
    for (const message of this.messages) message.working();
  }

  /**
   * The lowest sequence at or below the position delivered for the first time with an event past it:
   * the stream reused sequence numbers (re-created or truncated). A redelivery is never that: it was
   * passed already.
   */
  reusedSequence(position: StreamPosition): number | undefined {
    let reused: number | undefined;
    for (const message of this.messages) {
      if (message.seq > position.stream_seq || message.info.redelivered) continue;
      const event = parseEnvelope(message.data);
      if (event && comparePositions(event.position, position.outbox) > 0) reused = Math.min(reused ?? message.seq, message.seq);
    }
    return reused;
  }

  /** Acknowledges the messages up to `stream_seq` (the committed position covers them). */
  ackThrough(stream_seq: number): void {
    const waiting: JsMsg[] = [];
    for (const message of this.messages) {
      if (message.seq <= stream_seq) message.ack();
      else waiting.push(message);
    }
    this.messages = waiting;
  }

  /** Up to `size` messages from `after + 1` in stream order, holes read from the stream. */
  async nextRun(nats: JetStreamHandle, stream: string, after: number, size: number): Promise<DeliveredItem[]> {
    const by_seq = new Map<number, JsMsg[]>();
    for (const message of this.messages) by_seq.set(message.seq, [...(by_seq.get(message.seq) ?? []), message]);
    const items: DeliveredItem[] = [];
    let first_seq: number | undefined;
    for (let seq = after + 1; items.length < size; seq++) {
      const messages = by_seq.get(seq);
      if (messages) {
        items.push({ stream_seq: seq, messages, event: parseEnvelope(messages[0]?.data) });
        continue;
      }
      // A hole: is anything delivered beyond it? Otherwise the run simply ends here.
      if (!this.messages.some((message) => message.seq > seq)) break;
      first_seq ??= (await nats.jsm.streams.info(stream)).state.first_seq;
      if (seq < first_seq) {
        // Gone from the stream (expired or purged); the outbox check finds out what that lost.
        seq = first_seq - 1;
        continue;
      }
      const stored = await nats.jsm.streams.getMessage(stream, { seq });
      items.push({ stream_seq: seq, messages: [], event: stored ? parseEnvelope(stored.data) : null });
    }
    return items;
  }
}

import { insertShape, rowsWrite } from '../../../platform/row-writes.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { assert } from '../../../kernel/assert.js';
import { traceContextCarrier } from '../../../platform/tracing.js';
import type { EventRequest, EventsWrite } from '../../../platform/write/operation.js';

export const API_VERSION = '2023-08-16';

/** A state change to record: the object as it is after the change, and what it was before. */
export interface EventDraft {
  type: string;
  object: { id: string } & Record<string, unknown>;
  previous_attributes?: Record<string, unknown>;
  /**
   * Facts for Payrail's own consumers that are no part of the Stripe object (the ledger reads
   * `funds`): stored in the event's internal envelope beside the trace context, never rendered.
   */
  internal?: EventInternal;
}

/** Short facts an event carries for consumers only; see EventDraft.internal. */
export type EventInternal = Readonly<Record<string, string>>;

export type { EventRequest };

export interface EventRow {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request: EventRequest;
  /** Webhook deliveries still to make (SQL `events.pending_webhooks`, webhooks/delivery.ts); 0 when not read. */
  pending_webhooks?: number;
}

/**
 * One multi-row INSERT for all of a change's events, to join the change's own write. Each object is
 * serialized once: its text is the event's `data.object` as stored, and is handed to the write
 * pipeline, which stores an equal response as a reference to the event rather than a copy.
 */
export function outboxInsert(ids: IdGenerator, merchant_id: string, created_s: number, request: EventRequest, drafts: readonly EventDraft[]): EventsWrite {
  assert(drafts.length > 0, 'outboxInsert needs at least one event');
  // With tracing on, the request's trace context (W3C traceparent) rides in the stored `request` json,
  // so consumers continue the trace (tracedFromStored); renderEvent shows clients only id and key.
  // A draft's internal facts ride there too, for consumers (ConsumedEvent.internal), never for clients.
  // Object.assign rather than a spread copy with a key added: see "Hot path in Node" in docs/architecture.md.
  const trace_context = traceContextCarrier();
  const envelope = trace_context ? Object.assign({}, request, trace_context) : request;
  const event_objects = drafts.map((draft) => ({ event_id: ids.next('event'), object: draft.object, json: JSON.stringify(draft.object) }));
  const rows = drafts.map((draft, i) => {
    const { event_id, json } = event_objects[i] as (typeof event_objects)[number];
    const stored_request = JSON.stringify(draft.internal ? Object.assign({}, envelope, { internal: draft.internal }) : envelope);
    return [event_id, merchant_id, draft.type, created_s, draft.object.id, eventData(json, draft.previous_attributes), stored_request];
  });
  return Object.assign(rowsWrite(INSERT_EVENTS, rows), { merchant_id, event_objects });
}

/** The `data` column's text: exactly JSON.stringify({ object, previous_attributes }) with the object's text reused. */
function eventData(object_json: string, previous_attributes: Record<string, unknown> | undefined): string {
  return previous_attributes ? `{"object":${object_json},"previous_attributes":${JSON.stringify(previous_attributes)}}` : `{"object":${object_json}}`;
}

/** Rows keep their order, so a change's events get ascending `seq` in the order they were drafted. */
const INSERT_EVENTS = insertShape('events.outbox', {
  id: 'text',
  merchant_id: 'text',
  type: 'text',
  created: 'bigint',
  object_id: 'text',
  data: 'json',
  request: 'json',
});

export function renderEvent(row: EventRow): Record<string, unknown> {
  return {
    id: row.id,
    object: 'event',
    account: row.merchant_id,
    api_version: API_VERSION,
    created: row.created,
    data: row.data,
    livemode: false,
    pending_webhooks: row.pending_webhooks ?? 0,
    request: { id: row.request.id, idempotency_key: row.request.idempotency_key },
    type: row.type,
  };
}

import type { SqlFragment } from '../../platform/db.js';
import { joinSql, sql } from '../../platform/db.js';
import type { IdGenerator } from '../../kernel/ids.js';
import { assert } from '../../kernel/assert.js';

export const API_VERSION = '2023-08-16';

/** A state change to record: the object as it is after the change, and what it was before. */
export interface EventDraft {
  type: string;
  object: { id: string } & Record<string, unknown>;
  previous_attributes?: Record<string, unknown>;
}

export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

export interface EventRow {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request: EventRequest;
}

/** One multi-row INSERT for all of a change's events, to join the change's own write. */
export function outboxInsert(
  ids: IdGenerator,
  merchant_id: string,
  created_s: number,
  request: EventRequest,
  drafts: readonly EventDraft[],
): SqlFragment {
  assert(drafts.length > 0, 'outboxInsert needs at least one event');
  const rows = drafts.map((draft) => {
    const data = draft.previous_attributes
      ? { object: draft.object, previous_attributes: draft.previous_attributes }
      : { object: draft.object };
    return sql`(${ids.next('event')}, ${merchant_id}, ${draft.type}, ${created_s}, ${draft.object.id}, ${JSON.stringify(data)}::json, ${JSON.stringify(request)}::json)`;
  });
  return joinSql(
    [sql`INSERT INTO events.outbox (id, merchant_id, type, created, object_id, data, request) VALUES `, joinSql(rows, ', ')],
    '',
  );
}

export function renderEvent(row: EventRow): Record<string, unknown> {
  return {
    id: row.id,
    object: 'event',
    account: row.merchant_id,
    api_version: API_VERSION,
    created: row.created,
    data: row.data,
    livemode: false,
    pending_webhooks: 0,
    request: row.request,
    type: row.type,
  };
}

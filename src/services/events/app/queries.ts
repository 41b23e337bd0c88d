import type { Db } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { EventRow } from '../adapters/outbox.js';
import { PAYRAIL_EVENT_TYPE_NAMES } from '../domain/event-types.js';
import { renderEvent } from '../adapters/outbox.js';

const EVENT_COLUMNS = `json_build_object('id', id, 'merchant_id', merchant_id, 'type', type, 'created', created, 'data', data, 'request', request,
  'pending_webhooks', events.pending_webhooks(merchant_id, id, type, created))`;

export async function retrieveEvent(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const result = await run<EventRow>(
    db,
    sql`SELECT id, merchant_id, type, created, data, request, events.pending_webhooks(merchant_id, id, type, created) AS pending_webhooks FROM events.outbox
    WHERE merchant_id = ${merchant_id} AND id = ${id} AND type <> ALL(${PAYRAIL_EVENT_TYPE_NAMES}::text[])`,
  );
  const row = result.rows[0];
  if (!row) throw new PayrailError('resource_missing', { message: `No such event: '${id.slice(0, 64)}'` });
  return renderEvent(row);
}

/** Lists events, optionally only those matching any of `types` (`charge.*` matches every charge event). */
export async function listEvents(db: Db, merchant_id: string, page: PageRequest, types: readonly string[]): Promise<Page<Record<string, unknown>>> {
  // LIKE's own wildcards in a prefix are matched literally.
  const like_prefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const matches = types.map((type) => (type.endsWith('.*') ? sql`type LIKE ${like_prefix(type.slice(0, -1))}` : sql`type = ${type}`));
  // Payrail's own event types (event-types.ts) are for operators: never shown as Stripe events.
  const filters = [
    sql`type <> ALL(${PAYRAIL_EVENT_TYPE_NAMES}::text[])`,
    ...(matches.length > 0 ? [joinSql([rawSql('('), joinSql(matches, ' OR '), rawSql(')')], '')] : []),
  ];
  const result = await listPage<EventRow>(db, { table: 'events.outbox', column: EVENT_COLUMNS }, merchant_id, filters, page);
  return { data: result.data.map(renderEvent), has_more: result.has_more };
}

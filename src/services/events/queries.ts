import type { Db } from '../../platform/db.js';
import { run, sql } from '../../platform/db.js';
import type { Page, PageRequest } from '../../platform/pagination.js';
import { listPage } from '../../platform/pagination.js';
import { PayrailError } from '../../kernel/errors.js';
import type { EventRow } from './outbox.js';
import { renderEvent } from './outbox.js';

const EVENT_COLUMNS = `json_build_object('id', id, 'merchant_id', merchant_id, 'type', type, 'created', created, 'data', data, 'request', request)`;

export async function retrieveEvent(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const result = await run<EventRow>(db, sql`SELECT id, merchant_id, type, created, data, request FROM events.outbox WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  const row = result.rows[0];
  if (!row) throw new PayrailError('resource_missing', { message: `No such event: '${id.slice(0, 64)}'` });
  return renderEvent(row);
}

export async function listEvents(db: Db, merchant_id: string, page: PageRequest, type?: string): Promise<Page<Record<string, unknown>>> {
  // `charge.*` matches every charge event; LIKE's own wildcards in the prefix are matched literally.
  const like_prefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const filters = type ? [type.endsWith('.*') ? sql`type LIKE ${like_prefix(type.slice(0, -1))}` : sql`type = ${type}`] : [];
  const result = await listPage<EventRow>(db, { table: 'events.outbox', column: EVENT_COLUMNS }, merchant_id, filters, page);
  return { data: result.data.map(renderEvent), has_more: result.has_more };
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { CheckoutSession } from '../domain/session.js';
import { checkSession } from '../domain/session.js';

/** SQL for the checkout schema. Writes are fragments, committed by the write pipeline with their events. */

export function insertSession(session: CheckoutSession): SqlFragment {
  checkSession(session);
  return sql`INSERT INTO checkout.sessions (merchant_id, id, status, payment_intent_id, customer_id, expires_at, created, version, state)
    VALUES (${session.merchant_id}, ${session.id}, ${session.status}, ${session.payment_intent}, ${session.customer}, ${session.expires_at},
      ${session.created}, ${session.version}, ${JSON.stringify(session)}::json)`;
}

/** Affects no row unless the stored version is still the one `session` was derived from. */
export function updateSession(session: CheckoutSession, previous_version: number): SqlFragment {
  checkSession(session);
  return sql`UPDATE checkout.sessions SET status = ${session.status}, payment_intent_id = ${session.payment_intent}, version = ${session.version},
    state = ${JSON.stringify(session)}::json
    WHERE merchant_id = ${session.merchant_id} AND id = ${session.id} AND version = ${previous_version}`;
}

export async function findSession(db: Db, merchant_id: string, id: string): Promise<CheckoutSession | undefined> {
  const result = await run<{ state: CheckoutSession; version: number }>(
    db,
    sql`SELECT state, version FROM checkout.sessions WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.state.version !== row.version) throw new Error(`checkout session ${id}: stored version ${row.version} and state disagree`);
  return checkSession(row.state);
}

export async function getSession(db: Db, merchant_id: string, id: string): Promise<CheckoutSession> {
  const session = await findSession(db, merchant_id, id);
  if (!session) throw new PayrailError('resource_missing', { param: 'session', message: `No such checkout.session: '${id.slice(0, 64)}'` });
  return session;
}

export interface SessionFilters {
  customer?: string | undefined;
  payment_intent?: string | undefined;
}

export async function listSessions(db: Db, merchant_id: string, filters: SessionFilters, page: PageRequest): Promise<Page<CheckoutSession>> {
  const conditions: SqlFragment[] = [];
  if (filters.customer !== undefined) conditions.push(sql`customer_id = ${filters.customer}`);
  if (filters.payment_intent !== undefined) conditions.push(sql`payment_intent_id = ${filters.payment_intent}`);
  const result = await listPage<CheckoutSession>(db, { table: 'checkout.sessions', column: 'state' }, merchant_id, conditions, page);
  return { data: result.data.map(checkSession), has_more: result.has_more };
}

/** Open sessions past their expiry, oldest first, across merchants (the expiry sweep). */
export async function dueForExpiry(db: Db, now_s: number, limit: number): Promise<{ merchant_id: string; id: string }[]> {
  const result = await run<{ merchant_id: string; id: string }>(
    db,
    sql`SELECT merchant_id, id FROM checkout.sessions WHERE status = 'open' AND expires_at <= ${now_s} ORDER BY expires_at LIMIT ${limit}`,
  );
  return result.rows;
}

/** The hosted page's lookup: it knows the session's id (and its page secret), not the merchant. */
export async function findSessionById(db: Db, id: string): Promise<CheckoutSession | undefined> {
  const result = await run<{ merchant_id: string }>(db, sql`SELECT merchant_id FROM checkout.sessions WHERE id = ${id}`);
  const merchant_id = result.rows[0]?.merchant_id;
  return merchant_id === undefined ? undefined : findSession(db, merchant_id, id);
}

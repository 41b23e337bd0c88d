import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { DashboardUser } from './permissions.js';

/**
 * Dashboard sessions: the browser holds an opaque random token, the database only its SHA-256 (a
 * leaked table signs no one in). A session ends after 12 hours unused or 7 days in all, whichever
 * comes first; each carries the CSRF token its non-GET requests must echo.
 */

export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 60 * 60 * 1000;
/** Refreshing last use on every request would write on every read; a minute's slack against 12 hours is nothing. */
const TOUCH_AFTER_MS = 60 * 1000;
const TOKEN_BYTES = 32;

export type Random = (bytes: number) => Buffer;

export function newToken(random: Random = randomBytes): string {
  return random(TOKEN_BYTES).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What a request needs of its signed-in user; never the password hash or the sealed TOTP secret. */
export interface SessionUser extends DashboardUser {
  totp_enabled: boolean;
}

export interface Session {
  user: SessionUser;
  csrf_token: string;
}

export async function startSession(db: Db, user: DashboardUser, now_ms: number, random: Random = randomBytes): Promise<{ token: string; csrf_token: string }> {
  const token = newToken(random);
  const csrf_token = newToken(random);
  await run(
    db,
    sql`INSERT INTO dashboard.sessions (token_hash, user_id, merchant_id, csrf_token, created_ms, last_seen_ms)
      VALUES (${tokenHash(token)}, ${user.id}, ${user.merchant_id}, ${csrf_token}, ${now_ms}, ${now_ms})`,
  );
  return { token, csrf_token };
}

interface SessionRow extends SessionUser {
  csrf_token: string;
  created_ms: number;
  last_seen_ms: number;
}

/** The live session `token` names, its last use moved to now; undefined (and the row gone) once expired. */
export async function resumeSession(db: Db, token: string, now_ms: number): Promise<Session | undefined> {
  const hash = tokenHash(token);
  const row = (
    await run<SessionRow>(
      db,
      sql`SELECT u.id, u.merchant_id, u.email, u.role, u.totp_enabled, s.csrf_token, s.created_ms, s.last_seen_ms
        FROM dashboard.sessions s JOIN dashboard.users u ON u.id = s.user_id WHERE s.token_hash = ${hash}`,
    )
  ).rows[0];
  if (!row) return undefined;
  if (now_ms - row.last_seen_ms > SESSION_IDLE_MS || now_ms - row.created_ms > SESSION_ABSOLUTE_MS) {
    await endSession(db, token);
    return undefined;
  }
  if (now_ms - row.last_seen_ms > TOUCH_AFTER_MS) await run(db, sql`UPDATE dashboard.sessions SET last_seen_ms = ${now_ms} WHERE token_hash = ${hash}`);
  const { csrf_token, created_ms: _created, last_seen_ms: _seen, ...user } = row;
  return { user, csrf_token };
}

export async function endSession(db: Db, token: string): Promise<void> {
  await run(db, sql`DELETE FROM dashboard.sessions WHERE token_hash = ${tokenHash(token)}`);
}

import type { Db, Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { DashboardRole, DashboardUser } from './permissions.js';
import type { Random } from './sessions.js';
import { newToken, tokenHash } from './sessions.js';
import { createDashboardUser, userById } from './users.js';
import type { StoredUser } from './users.js';

/**
 * Invites and role changes. An invite creates the user without a password and a one-time token
 * (stored as its hash) that sets one within 7 days. A merchant always keeps an owner: the last one
 * cannot be demoted, checked under a lock on the merchant's owners so two demotions cannot race.
 */

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export async function invite(
  pool: Pool,
  by: DashboardUser,
  person: { email: string; role: DashboardRole },
  context: { ids: IdGenerator; now_ms: number; random?: Random | undefined },
): Promise<{ user: DashboardUser; token: string }> {
  mayGrant(by, person.role);
  const user = await createDashboardUser(pool, { merchant_id: by.merchant_id, ...person }, context);
  const token = newToken(context.random);
  await run(
    pool,
    sql`INSERT INTO dashboard.invites (token_hash, user_id, merchant_id, expires_ms) VALUES (${tokenHash(token)}, ${user.id}, ${user.merchant_id}, ${context.now_ms + INVITE_TTL_MS})`,
  );
  return { user, token };
}

/**
 * Sets the invited user's password and spends the token, in one transaction: a failed password write
 * leaves the token unspent, so the invitee can try again. An unknown, spent or expired token is
 * `dashboard_invite_invalid`.
 */
export async function acceptInvite(pool: Pool, token: string, password_hash: string, now_ms: number): Promise<StoredUser> {
  return withTransaction(pool, async (client) => {
    const spent = await run<{ user_id: string }>(
      client,
      sql`UPDATE dashboard.invites SET accepted_ms = ${now_ms} WHERE token_hash = ${tokenHash(token)} AND accepted_ms IS NULL AND expires_ms > ${now_ms} RETURNING user_id`,
    );
    const user_id = spent.rows[0]?.user_id;
    if (!user_id) throw new PayrailError('dashboard_invite_invalid');
    await run(client, sql`UPDATE dashboard.users SET password_hash = ${password_hash} WHERE id = ${user_id}`);
    const user = await userById(client, user_id);
    if (!user) throw new PayrailError('dashboard_invite_invalid');
    return user;
  });
}

/** Only an owner makes owners, and only an owner changes an owner. */
function mayGrant(by: DashboardUser, role: DashboardRole): void {
  if (role === 'owner' && by.role !== 'owner') throw new PayrailError('dashboard_permission_denied', { message: 'Only an owner can make an owner.' });
}

export async function changeRole(pool: Pool, by: DashboardUser, user_id: string, role: DashboardRole): Promise<StoredUser> {
  mayGrant(by, role);
  return withTransaction(pool, async (client) => {
    const owners = await run<{ id: string }>(client, sql`SELECT id FROM dashboard.users WHERE merchant_id = ${by.merchant_id} AND role = 'owner' FOR UPDATE`);
    const user = await userById(client, user_id);
    if (!user || user.merchant_id !== by.merchant_id)
      throw new PayrailError('resource_missing', { param: 'id', message: `No such dashboard user: '${user_id}'` });
    if (user.role === 'owner' && role !== 'owner') {
      mayGrant(by, 'owner');
      if (owners.rows.length <= 1) throw new PayrailError('dashboard_last_owner');
    }
    await setRole(client, user_id, role);
    return { ...user, role };
  });
}

async function setRole(db: Db, user_id: string, role: DashboardRole): Promise<void> {
  await run(db, sql`UPDATE dashboard.users SET role = ${role} WHERE id = ${user_id}`);
}

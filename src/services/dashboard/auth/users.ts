import type { Db, Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { UlidGenerator } from '../../../kernel/ids.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { DashboardRole, DashboardUser } from './permissions.js';
import { hashPassword } from './passwords.js';

/** Dashboard users as stored: the system role reads them (sign-in finds a user by email, across merchants). */

export interface StoredUser extends DashboardUser {
  password_hash: string | null;
  totp_sealed: Buffer | null;
  totp_enabled: boolean;
}

export async function userByEmail(db: Db, email: string): Promise<StoredUser | undefined> {
  return (
    await run<StoredUser>(
      db,
      sql`SELECT id, merchant_id, email, role, password_hash, totp_sealed, totp_enabled FROM dashboard.users WHERE lower(email) = lower(${email})`,
    )
  ).rows[0];
}

export async function userById(db: Db, id: string): Promise<StoredUser | undefined> {
  return (await run<StoredUser>(db, sql`SELECT id, merchant_id, email, role, password_hash, totp_sealed, totp_enabled FROM dashboard.users WHERE id = ${id}`))
    .rows[0];
}

export async function usersOfMerchant(db: Db, merchant_id: string): Promise<StoredUser[]> {
  return (
    await run<StoredUser>(
      db,
      sql`SELECT id, merchant_id, email, role, password_hash, totp_sealed, totp_enabled FROM dashboard.users WHERE merchant_id = ${merchant_id} ORDER BY id`,
    )
  ).rows;
}

export async function anyDashboardUser(db: Db): Promise<boolean> {
  return (await run(db, sql`SELECT 1 FROM dashboard.users LIMIT 1`)).rowCount !== 0;
}

const FOREIGN_KEY_VIOLATION = '23503';

export interface NewDashboardUser {
  merchant_id: string;
  email: string;
  /** Without one (an invite), the user can sign in only after accepting, or through OIDC. */
  password?: string | undefined;
  role: DashboardRole;
}

/** Creates a user (the CLI, the first start in test mode, invites, tests); an email already taken is `resource_already_exists`. */
export async function createDashboardUser(pool: Pool, user: NewDashboardUser, context: { ids?: IdGenerator; now_ms?: number } = {}): Promise<DashboardUser> {
  const id = (context.ids ?? new UlidGenerator()).next('dashboard_user');
  const password_hash = user.password === undefined ? null : await hashPassword(user.password);
  const inserted = await run<DashboardUser>(
    pool,
    sql`INSERT INTO dashboard.users (id, merchant_id, email, role, password_hash, created_ms)
      SELECT ${id}, ${user.merchant_id}, ${user.email}, ${user.role}, ${password_hash}, ${context.now_ms ?? Date.now()}
      WHERE NOT EXISTS (SELECT 1 FROM dashboard.users WHERE lower(email) = lower(${user.email}))
      ON CONFLICT DO NOTHING
      RETURNING id, merchant_id, email, role`,
  ).catch((error: unknown) => {
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION)
      throw new PayrailError('resource_missing', { param: 'merchant_id', message: `No such merchant: '${user.merchant_id}'` });
    throw error;
  });
  const created = inserted.rows[0];
  if (!created) throw new PayrailError('resource_already_exists', { param: 'email', message: 'A dashboard user with this email already exists.' });
  return created;
}

export function publicUser(user: DashboardUser & { totp_enabled: boolean }): DashboardUser & { totp_enabled: boolean } {
  return { id: user.id, email: user.email, role: user.role, merchant_id: user.merchant_id, totp_enabled: user.totp_enabled };
}

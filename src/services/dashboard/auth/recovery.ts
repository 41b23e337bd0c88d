import type { Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { securityEvent } from '../../audit/index.js';
import { hashPassword } from './passwords.js';
import type { DashboardUser } from './permissions.js';

/**
 * An operator's way back in for a user who lost their authenticator or password: from the shell, never
 * from the web (whoever holds the database may do it anyway). The second factor is turned off, the
 * password replaced when one is given, and every session the user had is ended, in one transaction
 * that also writes the audit event.
 */
export async function resetDashboardUser(pool: Pool, email: string, password: string | undefined, now_ms: number): Promise<DashboardUser> {
  const password_hash = password === undefined ? undefined : await hashPassword(password);
  return withTransaction(pool, async (client) => {
    const updated = await run<DashboardUser>(
      client,
      sql`UPDATE dashboard.users SET totp_enabled = false, totp_sealed = NULL, totp_last_step = NULL,
            password_hash = COALESCE(${password_hash ?? null}, password_hash)
          WHERE lower(email) = lower(${email}) RETURNING id, merchant_id, email, role`,
    );
    const user = updated.rows[0];
    if (!user) throw new PayrailError('resource_missing', { param: 'email', message: 'No dashboard user has this email.' });
    await run(client, sql`DELETE FROM dashboard.sessions WHERE user_id = ${user.id}`);
    await run(
      client,
      securityEvent({
        type: 'dashboard.user_reset',
        merchant_id: user.merchant_id,
        object_id: user.id,
        actor: { type: 'cli' },
        at_ms: now_ms,
        data: { user_email: user.email, totp_disabled: true, password_replaced: password_hash !== undefined },
      }),
    );
    return user;
  });
}

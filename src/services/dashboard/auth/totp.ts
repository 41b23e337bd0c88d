import { Secret, TOTP } from 'otpauth';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { SecretSealer } from '../../vault/index.js';
import type { StoredUser } from './users.js';

/**
 * Second factor: RFC 6238 time-based codes (the `otpauth` package), six digits every 30 seconds, one
 * step of clock drift either way. The secret is stored sealed by the vault, under the context of
 * its user, so a sealed secret copied to another user's row does not open.
 */

const ISSUER = 'Payrail';
const DRIFT_STEPS = 1;
const SECRET_BYTES = 20;

function totpFor(email: string, secret_base32: string): TOTP {
  return new TOTP({ issuer: ISSUER, label: email, secret: Secret.fromBase32(secret_base32) });
}

function sealingContext(user_id: string): string {
  return `dashboard_totp:${user_id}`;
}

/** A fresh secret for `user`, stored sealed and not yet enforced: `enableTotp` turns it on once a code from it checks. */
export async function setUpTotp(db: Db, sealer: SecretSealer, user: StoredUser): Promise<{ secret: string; otpauth_url: string }> {
  const secret = new Secret({ size: SECRET_BYTES }).base32;
  const sealed = await sealer.seal(secret, sealingContext(user.id));
  await run(db, sql`UPDATE dashboard.users SET totp_sealed = ${sealed}, totp_enabled = false WHERE id = ${user.id}`);
  return { secret, otpauth_url: totpFor(user.email, secret).toString() };
}

/**
 * Whether `code` is the user's current code, and spends it: a code accepted once (or any older one)
 * is refused after, so one seen over a shoulder or in a proxy's log cannot be replayed. False when
 * the user has no secret.
 */
export async function spendTotpCode(db: Db, sealer: SecretSealer, user: StoredUser, code: string, now_ms: number): Promise<boolean> {
  if (!user.totp_sealed) return false;
  const secret = await sealer.open(user.totp_sealed, sealingContext(user.id));
  const totp = totpFor(user.email, secret);
  const delta = totp.validate({ token: code, timestamp: now_ms, window: DRIFT_STEPS });
  if (delta === null) return false;
  const step = totp.counter({ timestamp: now_ms }) + delta;
  const spent = await run(
    db,
    sql`UPDATE dashboard.users SET totp_last_step = ${step} WHERE id = ${user.id} AND (totp_last_step IS NULL OR totp_last_step < ${step})`,
  );
  return spent.rowCount === 1;
}

export async function enableTotp(db: Db, user_id: string): Promise<void> {
  await run(db, sql`UPDATE dashboard.users SET totp_enabled = true WHERE id = ${user_id} AND totp_sealed IS NOT NULL`);
}

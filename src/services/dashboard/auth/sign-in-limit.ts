import type { Db, Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';

/**
 * Password guessing. Failed sign-ins in the last 15 minutes are counted three ways: 5 for one email
 * from one address locks that pair, so an attacker cannot lock a known user out from elsewhere; 50 for
 * one email across addresses stops a spread-out guess at one account; 100 from one address stops one
 * address spraying many accounts (set PAYRAIL_TRUST_PROXY behind a proxy, or every visitor shares the
 * proxy's address). Failures live in PostgreSQL, so every process of a deployment counts the same ones.
 */

export const SIGN_IN_PAIR_LIMIT = 5;
export const SIGN_IN_EMAIL_LIMIT = 50;
export const SIGN_IN_ADDRESS_LIMIT = 100;
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;

async function signInBlocked(db: Db, email: string, client_ip: string, now_ms: number): Promise<boolean> {
  const since = now_ms - SIGN_IN_WINDOW_MS;
  const { rows } = await run<{ by_pair: number; by_email: number; by_ip: number }>(
    db,
    sql`SELECT count(*) FILTER (WHERE email = lower(${email}) AND client_ip = ${client_ip})::int AS by_pair,
        count(*) FILTER (WHERE email = lower(${email}))::int AS by_email, count(*) FILTER (WHERE client_ip = ${client_ip})::int AS by_ip
      FROM dashboard.sign_in_failures WHERE at_ms > ${since} AND (email = lower(${email}) OR client_ip = ${client_ip})`,
  );
  const counts = rows[0] ?? { by_pair: 0, by_email: 0, by_ip: 0 };
  return counts.by_pair >= SIGN_IN_PAIR_LIMIT || counts.by_email >= SIGN_IN_EMAIL_LIMIT || counts.by_ip >= SIGN_IN_ADDRESS_LIMIT;
}

/**
 * Counts this attempt as a failure before its password is checked, unless the limit is already
 * reached (then false: answer 429). Check and count run under a lock on the email, so parallel
 * attempts each see the ones before them and a burst of guesses gets no more tries than the limit.
 * The lock is held for these two statements only, never while a password hash is computed, so
 * a burst holds no pool connections waiting.
 */
export async function reserveSignInAttempt(pool: Pool, email: string, client_ip: string, now_ms: number): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    // Two-key form: its own key space, apart from single-key advisory locks elsewhere.
    await run(client, sql`SELECT pg_advisory_xact_lock(hashtext('dashboard.sign_in'), hashtext(lower(${email})))`);
    if (await signInBlocked(client, email, client_ip, now_ms)) return false;
    await run(client, sql`INSERT INTO dashboard.sign_in_failures (email, client_ip, at_ms) VALUES (lower(${email}), ${client_ip}, ${now_ms})`);
    return true;
  });
}

/** Takes back the failure `reserveSignInAttempt` counted: the password was right. Any row of this attempt's email, address and time is as good as another. */
export async function withdrawSignInAttempt(db: Db, email: string, client_ip: string, now_ms: number): Promise<void> {
  await run(
    db,
    sql`DELETE FROM dashboard.sign_in_failures WHERE ctid = (SELECT ctid FROM dashboard.sign_in_failures
      WHERE email = lower(${email}) AND client_ip = ${client_ip} AND at_ms = ${now_ms} LIMIT 1)`,
  );
}

/** Drops failures older than the window so the table stays small (outside the per-email lock: it touches every email's rows). */
export async function forgetOldSignInFailures(db: Db, now_ms: number): Promise<void> {
  await run(db, sql`DELETE FROM dashboard.sign_in_failures WHERE at_ms <= ${now_ms - SIGN_IN_WINDOW_MS}`);
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import type { DunningPolicy } from '../domain/dunning.js';
import { DEFAULT_DUNNING_POLICY } from '../domain/dunning.js';

/**
 * SQL for billing.renewals (one row per subscription period billed: the once-per-period guard and the
 * dunning state of its invoice), billing.trial_notices and billing.dunning_settings. Writes are
 * fragments the write pipeline commits; each must touch its row.
 */

export type RenewalState = 'collecting' | 'exhausted' | 'paid' | 'ended' | 'none';

export interface Renewal {
  merchant_id: string;
  subscription_id: string;
  period_start: number;
  invoice_id: string | null;
  test_clock: string | null;
  first_try_at: number;
  attempts_seen: number;
  next_attempt_at: number | null;
  state: RenewalState;
  version: number;
}

const COLUMNS = 'merchant_id, subscription_id, period_start, invoice_id, test_clock, first_try_at, attempts_seen, next_attempt_at, state, version';

function selectRenewals(where: SqlFragment): SqlFragment {
  return joinSql([rawSql(`SELECT ${COLUMNS} FROM billing.renewals WHERE `), where], '');
}

/** The guard: a second renewal of the same period fails the whole statement on the primary key. */
export function insertRenewal(renewal: Renewal): SqlFragment {
  const r = renewal;
  return sql`INSERT INTO billing.renewals (merchant_id, subscription_id, period_start, invoice_id, test_clock, first_try_at, attempts_seen,
      next_attempt_at, state, version)
    VALUES (${r.merchant_id}, ${r.subscription_id}, ${r.period_start}, ${r.invoice_id}, ${r.test_clock}, ${r.first_try_at}, ${r.attempts_seen},
      ${r.next_attempt_at}, ${r.state}, ${r.version})`;
}

/** Affects no row unless the stored version is still `previous_version`. */
export function updateRenewal(renewal: Renewal, previous_version: number): SqlFragment {
  const r = renewal;
  return sql`UPDATE billing.renewals SET attempts_seen = ${r.attempts_seen}, next_attempt_at = ${r.next_attempt_at}, state = ${r.state},
      version = ${r.version}
    WHERE merchant_id = ${r.merchant_id} AND subscription_id = ${r.subscription_id} AND period_start = ${r.period_start}
      AND version = ${previous_version}`;
}

export async function findRenewal(db: Db, merchant_id: string, subscription_id: string, period_start: number): Promise<Renewal | undefined> {
  const found = await run<Renewal>(
    db,
    selectRenewals(sql`merchant_id = ${merchant_id} AND subscription_id = ${subscription_id} AND period_start = ${period_start}`),
  );
  return found.rows[0];
}

/** The renewal an invoice bills, if it is a renewal's. */
export async function renewalOfInvoice(db: Db, merchant_id: string, invoice_id: string): Promise<Renewal | undefined> {
  const found = await run<Renewal>(db, selectRenewals(sql`merchant_id = ${merchant_id} AND invoice_id = ${invoice_id}`));
  return found.rows[0];
}

export function insertTrialNotice(merchant_id: string, subscription_id: string, trial_end: number, sent_at: number): SqlFragment {
  return sql`INSERT INTO billing.trial_notices (merchant_id, subscription_id, trial_end, sent_at)
    VALUES (${merchant_id}, ${subscription_id}, ${trial_end}, ${sent_at})`;
}

export async function dunningPolicy(db: Db, merchant_id: string): Promise<DunningPolicy & { version: number }> {
  const found = await run<DunningPolicy & { version: number }>(
    db,
    sql`SELECT retry_days, subscription_end, invoice_end, version FROM billing.dunning_settings WHERE merchant_id = ${merchant_id}`,
  );
  return found.rows[0] ?? { ...DEFAULT_DUNNING_POLICY, version: 0 };
}

/** The merchant's policy, replacing the one read at `previous_version` (0: none stored yet). */
export function saveDunningPolicy(merchant_id: string, policy: DunningPolicy, previous_version: number): SqlFragment {
  const days = [...policy.retry_days];
  if (previous_version === 0) {
    return sql`INSERT INTO billing.dunning_settings (merchant_id, retry_days, subscription_end, invoice_end, version)
      VALUES (${merchant_id}, ${days}::int[], ${policy.subscription_end}, ${policy.invoice_end}, 1)`;
  }
  return sql`UPDATE billing.dunning_settings SET retry_days = ${days}::int[], subscription_end = ${policy.subscription_end},
      invoice_end = ${policy.invoice_end}, version = ${previous_version + 1}
    WHERE merchant_id = ${merchant_id} AND version = ${previous_version}`;
}

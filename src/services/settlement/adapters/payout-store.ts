import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { BankAccount } from '../domain/bank-account.js';
import type { Payout } from '../domain/payout.js';
import type { PayoutSchedule } from '../domain/payout-schedule.js';
import { DEFAULT_SCHEDULE } from '../domain/payout-schedule.js';

/** SQL for payouts, bank accounts and payout schedules (schema `settlement`, migrations/payouts.ts). */

export function insertPayout(payout: Payout): SqlFragment {
  return sql`INSERT INTO settlement.payouts (merchant_id, id, created, currency, status, destination, arrival_date, run_date, covers_after, state, version)
    VALUES (${payout.merchant_id}, ${payout.id}, ${payout.created}, ${payout.currency}, ${payout.status}, ${payout.destination}, ${payout.arrival_date},
      ${payout.run_date}::date, ${payout.covers_after}, ${JSON.stringify(payout)}::jsonb, ${payout.version})`;
}

/** Stores `after` only if the row is still at `before`'s version: the guard fails otherwise. */
export function updatePayout(before: Payout, after: Payout): SqlFragment {
  return sql`UPDATE settlement.payouts SET status = ${after.status}, state = ${JSON.stringify(after)}::jsonb, version = ${after.version}
    WHERE merchant_id = ${before.merchant_id} AND id = ${before.id} AND version = ${before.version}`;
}

export async function findPayout(db: Db, merchant_id: string, id: string): Promise<Payout | undefined> {
  const result = await run<{ state: Payout }>(db, sql`SELECT state FROM settlement.payouts WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  return result.rows[0]?.state;
}

export async function getPayout(db: Db, merchant_id: string, id: string): Promise<Payout> {
  const payout = await findPayout(db, merchant_id, id);
  if (!payout) throw new PayrailError('resource_missing', { param: 'id', message: `No such payout: '${id.slice(0, 64)}'` });
  return payout;
}

export function insertBankAccount(account: BankAccount, sealed_number: Buffer): SqlFragment {
  return sql`INSERT INTO settlement.bank_accounts (merchant_id, id, created, currency, default_for_currency, state, sealed_number, version)
    VALUES (${account.merchant_id}, ${account.id}, ${account.created}, ${account.currency}, ${account.default_for_currency}, ${JSON.stringify(account)}::jsonb,
      ${sealed_number}, ${account.version})`;
}

export function updateBankAccount(before: BankAccount, after: BankAccount): SqlFragment {
  return sql`UPDATE settlement.bank_accounts SET default_for_currency = ${after.default_for_currency}, state = ${JSON.stringify(after)}::jsonb, version = ${after.version}
    WHERE merchant_id = ${before.merchant_id} AND id = ${before.id} AND version = ${before.version}`;
}

export async function listBankAccounts(db: Db, merchant_id: string): Promise<BankAccount[]> {
  const result = await run<{ state: BankAccount }>(db, sql`SELECT state FROM settlement.bank_accounts WHERE merchant_id = ${merchant_id} ORDER BY id DESC`);
  return result.rows.map((row) => row.state);
}

export async function getBankAccount(db: Db, merchant_id: string, id: string, param = 'id'): Promise<BankAccount> {
  const result = await run<{ state: BankAccount }>(db, sql`SELECT state FROM settlement.bank_accounts WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  const account = result.rows[0]?.state;
  if (!account) throw new PayrailError('resource_missing', { param, message: `No such external account: '${id.slice(0, 64)}'` });
  return account;
}

/** The sealed account number; read only by the bank worker, to pay out. */
export async function sealedNumberOf(db: Db, merchant_id: string, id: string): Promise<Buffer | undefined> {
  const result = await run<{ sealed_number: Buffer }>(
    db,
    sql`SELECT sealed_number FROM settlement.bank_accounts WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  return result.rows[0]?.sealed_number;
}

export async function loadSchedule(db: Db, merchant_id: string): Promise<{ schedule: PayoutSchedule; version: number }> {
  const result = await run<PayoutSchedule & { version: number }>(
    db,
    sql`SELECT interval, delay_days, weekly_anchor, monthly_anchor, version FROM settlement.payout_schedules WHERE merchant_id = ${merchant_id}`,
  );
  const row = result.rows[0];
  if (!row) return { schedule: DEFAULT_SCHEDULE, version: 0 };
  const { version, ...schedule } = row;
  return { schedule, version };
}

/** Writes the schedule if it is still at `version` (0: no row yet). */
export function saveSchedule(merchant_id: string, schedule: PayoutSchedule, version: number): SqlFragment {
  return version === 0
    ? sql`INSERT INTO settlement.payout_schedules (merchant_id, interval, delay_days, weekly_anchor, monthly_anchor, version)
        VALUES (${merchant_id}, ${schedule.interval}, ${schedule.delay_days}, ${schedule.weekly_anchor}, ${schedule.monthly_anchor}, 1)`
    : sql`UPDATE settlement.payout_schedules SET interval = ${schedule.interval}, delay_days = ${schedule.delay_days}, weekly_anchor = ${schedule.weekly_anchor},
        monthly_anchor = ${schedule.monthly_anchor}, version = ${version + 1} WHERE merchant_id = ${merchant_id} AND version = ${version}`;
}

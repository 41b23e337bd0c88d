import type { Db, SqlFragment } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { settlementDelayWrite } from '../../ledger/index.js';
import { DAY_S } from '../domain/payout.js';
import { renderBankAccount } from '../domain/bank-account.js';
import type { PayoutInterval, PayoutSchedule, Weekday } from '../domain/payout-schedule.js';
import { renderSchedule, updateSchedule } from '../domain/payout-schedule.js';
import { listBankAccounts, loadSchedule, saveSchedule } from '../adapters/payout-store.js';

/**
 * What payouts contribute to an account object (the connect service renders the rest): its bank
 * accounts (`external_accounts`) and `settings.payouts` with the payout schedule, and the writes that
 * change the schedule.
 */

export interface AccountPayoutParts {
  external_accounts: Record<string, unknown>;
  payouts: Record<string, unknown>;
}

/** The account's bank accounts and payout settings, with `schedule_after` in place of the stored schedule when given. */
export async function accountPayoutParts(db: Db, merchant_id: string, schedule_after?: PayoutSchedule): Promise<AccountPayoutParts> {
  const [{ schedule }, accounts] = await Promise.all([loadSchedule(db, merchant_id), listBankAccounts(db, merchant_id)]);
  const url = `/v1/accounts/${merchant_id}/external_accounts`;
  return {
    external_accounts: { object: 'list', data: accounts.map(renderBankAccount), has_more: false, url },
    payouts: { debit_negative_balances: false, schedule: renderSchedule(schedule_after ?? schedule), statement_descriptor: null },
  };
}

/** /v1/accounts/:id/external_accounts names the account the request acts as (its own, or the connected account it acts for). */
export function checkOwnAccount(merchant_id: string, id: string): void {
  if (id !== merchant_id)
    throw new PayrailError('account_invalid', {
      message: `The provided key does not have access to account '${/^acct_\w{1,64}$/.test(id) ? id : 'the account named'}' (or that account does not exist).`,
    });
}

export interface ScheduleChange {
  interval?: PayoutInterval | undefined;
  delay_days?: number | 'minimum' | undefined;
  weekly_anchor?: Weekday | undefined;
  monthly_anchor?: number | undefined;
}

/**
 * The schedule after `change` and the writes that store it (guarded by the stored version) with the
 * ledger's settlement delay: captures from now on become available `delay_days` later.
 */
export async function payoutScheduleChange(
  reader: Db,
  merchant_id: string,
  change: ScheduleChange,
): Promise<{ schedule: PayoutSchedule; writes: SqlFragment[] }> {
  const { schedule, version } = await loadSchedule(reader, merchant_id);
  if (change.weekly_anchor !== undefined && (change.interval ?? schedule.interval) !== 'weekly')
    throw new PayrailError('parameter_invalid', { param: 'settings[payouts][schedule][weekly_anchor]', message: 'weekly_anchor needs interval=weekly.' });
  if (change.monthly_anchor !== undefined && (change.interval ?? schedule.interval) !== 'monthly')
    throw new PayrailError('parameter_invalid', { param: 'settings[payouts][schedule][monthly_anchor]', message: 'monthly_anchor needs interval=monthly.' });
  const next = updateSchedule(schedule, change);
  return { schedule: next, writes: [saveSchedule(merchant_id, next, version), settlementDelayWrite(merchant_id, next.delay_days * DAY_S)] };
}

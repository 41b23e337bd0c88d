import type { Db } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import { settlementDelayWrite } from '../../ledger/index.js';
import { DAY_S } from '../domain/payout.js';
import { renderBankAccount } from '../domain/bank-account.js';
import type { PayoutInterval, PayoutSchedule, Weekday } from '../domain/payout-schedule.js';
import { renderSchedule, updateSchedule } from '../domain/payout-schedule.js';
import { listBankAccounts, loadSchedule, saveSchedule } from '../adapters/payout-store.js';

/**
 * The merchant's own account as Stripe shows it (`GET /v1/account`), with what Payrail knows of it:
 * its id, its bank accounts and its payout schedule. `POST /v1/accounts/:id` changes the schedule
 * only; connected accounts (Connect) are not served yet.
 */

export async function renderAccount(db: Db, merchant_id: string, schedule_after?: PayoutSchedule): Promise<Record<string, unknown>> {
  const [{ schedule }, accounts] = await Promise.all([loadSchedule(db, merchant_id), listBankAccounts(db, merchant_id)]);
  const url = `/v1/accounts/${merchant_id}/external_accounts`;
  return {
    id: merchant_id,
    object: 'account',
    business_profile: {
      mcc: null,
      name: null,
      product_description: null,
      support_address: null,
      support_email: null,
      support_phone: null,
      support_url: null,
      url: null,
    },
    business_type: null,
    capabilities: { card_payments: 'active', transfers: 'inactive' },
    charges_enabled: true,
    country: 'US',
    default_currency: 'usd',
    details_submitted: true,
    email: null,
    external_accounts: { object: 'list', data: accounts.map(renderBankAccount), has_more: false, url },
    metadata: {},
    payouts_enabled: true,
    settings: {
      branding: { icon: null, logo: null, primary_color: null, secondary_color: null },
      card_payments: { decline_on: { avs_failure: false, cvc_failure: false }, statement_descriptor_prefix: null },
      dashboard: { display_name: null, timezone: 'Etc/UTC' },
      payments: { statement_descriptor: null },
      payouts: { debit_negative_balances: false, schedule: renderSchedule(schedule_after ?? schedule), statement_descriptor: null },
    },
    type: 'standard',
  };
}

/** `POST /v1/accounts/:id` names the merchant's own account, or Stripe's error for an account the key cannot reach. */
export function checkOwnAccount(merchant_id: string, id: string): void {
  if (id !== merchant_id)
    throw new PayrailError('account_invalid', {
      message: 'The provided key does not have access to this account; Payrail serves the key’s own account only (connected accounts are not supported yet).',
    });
}

export interface ScheduleChange {
  interval?: PayoutInterval | undefined;
  delay_days?: number | 'minimum' | undefined;
  weekly_anchor?: Weekday | undefined;
  monthly_anchor?: number | undefined;
}

export async function updatePayoutSchedule(ctx: OperationContext, change: ScheduleChange | undefined): Promise<Outcome> {
  if (change !== undefined) {
    const { schedule, version } = await loadSchedule(ctx.reader, ctx.merchant_id);
    if (change.weekly_anchor !== undefined && (change.interval ?? schedule.interval) !== 'weekly')
      throw new PayrailError('parameter_invalid', { param: 'settings[payouts][schedule][weekly_anchor]', message: 'weekly_anchor needs interval=weekly.' });
    if (change.monthly_anchor !== undefined && (change.interval ?? schedule.interval) !== 'monthly')
      throw new PayrailError('parameter_invalid', { param: 'settings[payouts][schedule][monthly_anchor]', message: 'monthly_anchor needs interval=monthly.' });
    const next = updateSchedule(schedule, change);
    const outcome: Outcome = { ok: await renderAccount(ctx.reader, ctx.merchant_id, next) };
    // delay_days is the ledger's settlement delay: captures from now on become available that many days later.
    await ctx.commit([saveSchedule(ctx.merchant_id, next, version), settlementDelayWrite(ctx.merchant_id, next.delay_days * DAY_S)], outcome);
    return outcome;
  }
  return { ok: await renderAccount(ctx.reader, ctx.merchant_id) };
}

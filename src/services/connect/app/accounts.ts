import type { Db } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { outboxInsert } from '../../events/index.js';
import { retrieveBalance } from '../../ledger/index.js';
import type { ScheduleChange } from '../../settlement/index.js';
import { accountPayoutParts, payoutScheduleChange } from '../../settlement/index.js';
import type { AccountRow, AccountType, BusinessType, CapabilityRequests } from '../domain/account.js';
import { COUNTRY_CURRENCIES, accountCountry, capabilitiesAfter, enabledFlags, mergeMetadata } from '../domain/account.js';
import { renderAccount, renderDeletedAccount } from '../domain/account-view.js';
import { insertAccount, listConnected, loadAccount, markDeleted, updateAccount } from '../adapters/account-store.js';

/**
 * /v1/accounts' use cases. `ctx.merchant_id` is the account the request acts as: the key's merchant,
 * or the connected account its platform names (Stripe-Account, or the path of /v1/accounts/:id; the
 * gateway checked the platform owns it and sets `acting_platform`).
 */

export interface AccountChange {
  email?: string | undefined;
  business_type?: BusinessType | null | undefined;
  default_currency?: string | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  capabilities?: CapabilityRequests | undefined;
  schedule?: ScheduleChange | undefined;
}

export interface NewAccount extends AccountChange {
  type: AccountType;
  country?: string | undefined;
}

/** Forgets what the gateway cached about an account, once it is deleted. */
export type ForgetAccount = (account_id: string) => void;

export async function retrieveAccount(reader: Db, account_id: string): Promise<Record<string, unknown>> {
  const row = liveAccount(await loadAccount(reader, account_id), account_id);
  return renderAccount(row, await accountPayoutParts(reader, row.id));
}

export async function listAccounts(reader: Db, platform_id: string, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  const rows = await listConnected(reader, platform_id, page);
  // Bank accounts and schedules are each account's own rows, out of the platform's scope: shown as on a new account.
  const data = await Promise.all(rows.data.map(async (row) => renderAccount(row, await accountPayoutParts(reader, row.id))));
  return { data, has_more: rows.has_more };
}

/** A connected account of the acting merchant, which must be a platform (not itself connected). */
export async function createAccount(ctx: OperationContext, input: NewAccount, acting_platform: string | undefined): Promise<Outcome> {
  const platform = await loadAccount(ctx.reader, ctx.merchant_id);
  if (acting_platform !== undefined || !platform || platform.platform_id !== null)
    throw new PayrailError('permission_denied', { message: 'A connected account cannot create connected accounts: create them with the platform’s own key.' });
  if (input.schedule !== undefined)
    throw new PayrailError('parameter_unknown', {
      param: 'settings[payouts][schedule]',
      message: 'Received unknown parameter: settings[payouts][schedule]. Set a new account’s payout schedule by updating it (POST /v1/accounts/:id).',
    });
  const country = accountCountry(input.country, platform.country);
  const capabilities = capabilitiesAfter(input.type, {}, input.capabilities);
  const row: AccountRow = {
    id: ctx.ids.next('merchant'),
    platform_id: ctx.merchant_id,
    created: ctx.now_s,
    type: input.type,
    country,
    default_currency: input.default_currency ?? COUNTRY_CURRENCIES[country] ?? 'usd',
    email: input.email ?? null,
    business_type: input.business_type ?? null,
    metadata: mergeMetadata({}, input.metadata ?? {}),
    capabilities,
    ...enabledFlags(capabilities),
    version: 1,
  };
  // A new account has no bank account and the default payout schedule.
  const outcome: Outcome = { ok: renderAccount(row, await accountPayoutParts(ctx.reader, row.id)) };
  await ctx.commit([insertAccount(row, ctx.now_s)], outcome);
  return outcome;
}

export async function updateAccountUseCase(ctx: OperationContext, change: AccountChange): Promise<Outcome> {
  const row = liveAccount(await loadAccount(ctx.reader, ctx.merchant_id), ctx.merchant_id);
  const next = applyChange(row, change);
  const before = await accountPayoutParts(ctx.reader, row.id);
  // A schedule given is always stored, even unchanged: it also sets the ledger's settlement delay.
  const schedule = change.schedule === undefined ? undefined : await payoutScheduleChange(ctx.reader, row.id, change.schedule);
  const after = schedule === undefined ? before : await accountPayoutParts(ctx.reader, row.id, schedule.schedule);
  const outcome: Outcome = { ok: renderAccount(next, after) };
  const writes = [...(rowChanged(row, next) ? [updateAccount(next)] : []), ...(schedule?.writes ?? [])];
  if (writes.length === 0) return outcome;
  const previous = previousAttributes(row, next, before.payouts.schedule, after.payouts.schedule);
  const events =
    previous === undefined
      ? []
      : [
          outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
            { type: 'account.updated', object: outcome.ok as { id: string }, previous_attributes: previous },
          ]),
        ];
  await ctx.commit([...writes, ...events], outcome);
  return outcome;
}

/**
 * Stripe lets a platform delete the accounts it manages. Payrail refuses while any balance is not zero
 * (Stripe's rule for live accounts, kept in test mode too): the ledger's money must not be stranded on
 * an account nobody can reach.
 */
export async function deleteAccount(ctx: OperationContext, acting_platform: string | undefined, forget: ForgetAccount): Promise<Outcome> {
  const row = await loadAccount(ctx.reader, ctx.merchant_id);
  if (!row || acting_platform === undefined || row.platform_id !== acting_platform)
    throw new PayrailError('account_invalid', {
      message:
        'This application is not authorized to delete this account: a platform deletes its connected accounts; delete your own account from the dashboard.',
    });
  if (hasBalance(await retrieveBalance(ctx.reader, row.id)))
    throw new PayrailError('account_has_balance', {
      message: 'This account cannot be deleted while its balances are not zero: pay out or transfer its funds first.',
    });
  const outcome: Outcome = { ok: renderDeletedAccount(row.id) };
  await ctx.commit([markDeleted(row, ctx.now_s)], outcome);
  forget(row.id);
  return outcome;
}

/**
 * The account a request acts as is always there, except when another process still honoured a
 * just-deleted account from its short access cache (merchants' ACCOUNT_ACCESS_TTL_MS): Stripe's 403 then.
 */
function liveAccount(row: AccountRow | undefined, account_id: string): AccountRow {
  if (row) return row;
  throw new PayrailError('account_invalid', {
    message: `The provided key does not have access to account '${account_id}' (or that account does not exist). Application access may have been revoked.`,
  });
}

function hasBalance(balance: Record<string, unknown>): boolean {
  const amounts = [...(balance.available as { amount: number }[]), ...(balance.pending as { amount: number }[])];
  return amounts.some((entry) => entry.amount !== 0);
}

function applyChange(row: AccountRow, change: AccountChange): AccountRow {
  const capabilities = change.capabilities === undefined ? row.capabilities : capabilitiesAfter(row.type, row.capabilities, change.capabilities);
  return {
    ...row,
    email: change.email ?? row.email,
    business_type: change.business_type === undefined ? row.business_type : change.business_type,
    default_currency: change.default_currency ?? row.default_currency,
    metadata: change.metadata === undefined ? row.metadata : mergeMetadata(row.metadata, change.metadata),
    capabilities,
    ...enabledFlags(capabilities),
  };
}

const ROW_FIELDS = ['email', 'business_type', 'default_currency', 'metadata', 'capabilities', 'charges_enabled', 'payouts_enabled'] as const;

function rowChanged(row: AccountRow, next: AccountRow): boolean {
  return ROW_FIELDS.some((field) => JSON.stringify(row[field]) !== JSON.stringify(next[field]));
}

/** Stripe's `previous_attributes` of account.updated: the changed fields' old values; undefined when nothing changed. */
function previousAttributes(row: AccountRow, next: AccountRow, schedule_before: unknown, schedule_after: unknown): Record<string, unknown> | undefined {
  const previous: Record<string, unknown> = {};
  for (const field of ROW_FIELDS) if (JSON.stringify(row[field]) !== JSON.stringify(next[field])) previous[field] = row[field];
  if (JSON.stringify(schedule_before) !== JSON.stringify(schedule_after)) previous.settings = { payouts: { schedule: schedule_before } };
  return Object.keys(previous).length > 0 ? previous : undefined;
}

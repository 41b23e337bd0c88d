import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { SecretSealer } from '../../vault/index.js';
import { outboxInsert } from '../../events/index.js';
import { auditedChange } from '../../audit/index.js';
import type { BankAccount, BankAccountInput } from '../domain/bank-account.js';
import { BANK_ACCOUNT_LIMITS, bankAccountProblem, renderBankAccount } from '../domain/bank-account.js';
import { getBankAccount, insertBankAccount, listBankAccounts, updateBankAccount } from '../adapters/payout-store.js';

/**
 * The merchant's bank accounts (`/v1/accounts/:id/external_accounts`). The account number is sealed
 * by the vault (KMS purpose `bank_accounts`) before anything is stored; the row keeps last4 and a
 * keyed fingerprint. The first account in a currency becomes its default, as on Stripe.
 */
export interface BankAccountDeps {
  sealer: SecretSealer;
  /** Asynchronous: the vault may be another process (its key never comes here). */
  fingerprint: (merchant_id: string, routing_number: string, account_number: string) => Promise<string>;
}

/** What the number was sealed with: the row it belongs to, so a sealed number cannot be moved to another. */
export function sealingContext(merchant_id: string, bank_account_id: string): string {
  return `${merchant_id}/${bank_account_id}`;
}

export async function createBankAccount(
  deps: BankAccountDeps,
  ctx: OperationContext,
  input: BankAccountInput & { default_for_currency?: boolean | undefined },
): Promise<Outcome> {
  const problem = bankAccountProblem(input);
  if (problem) throw new PayrailError('parameter_invalid', { param: problem[0], message: problem[1] });
  const existing = await listBankAccounts(ctx.reader, ctx.merchant_id);
  if (existing.length >= BANK_ACCOUNT_LIMITS.per_merchant)
    throw new PayrailError('parameter_invalid', {
      param: 'external_account',
      message: `An account can have at most ${BANK_ACCOUNT_LIMITS.per_merchant} bank accounts; delete one first.`,
    });
  const current_default = existing.find((a) => a.currency === input.currency && a.default_for_currency);
  const makes_default = current_default === undefined || input.default_for_currency === true;
  const id = ctx.ids.next('bank_account');
  const account: BankAccount = {
    id,
    merchant_id: ctx.merchant_id,
    created: ctx.now_s,
    country: input.country,
    currency: input.currency,
    routing_number: input.routing_number,
    last4: input.account_number.slice(-4),
    fingerprint: await deps.fingerprint(ctx.merchant_id, input.routing_number, input.account_number),
    account_holder_name: input.account_holder_name,
    account_holder_type: input.account_holder_type,
    default_for_currency: makes_default,
    metadata: mergeMetadata({}, input.metadata),
    version: 1,
  };
  const sealed = await deps.sealer.seal(input.account_number, sealingContext(ctx.merchant_id, id));
  const writes: SqlFragment[] = [];
  // The old default steps down first: the unique index allows one default per currency.
  if (makes_default && current_default)
    writes.push(updateBankAccount(current_default, { ...current_default, default_for_currency: false, version: current_default.version + 1 }));
  writes.push(insertBankAccount(account, sealed));
  const outcome: Outcome = { ok: renderBankAccount(account) };
  writes.push(
    bankAccountEvent(ctx, { type: 'account.external_account.created', object: renderBankAccount(account) as { id: string } }),
    // Where money goes is security-relevant: a new destination is in the audit log (never its number).
    auditedChange(ctx, { type: 'bank_account.created', object_id: account.id, data: { last4: account.last4, routing_number: account.routing_number } }),
  );
  await ctx.commit(writes, outcome);
  return outcome;
}

export interface BankAccountUpdate {
  default_for_currency?: boolean | undefined;
  account_holder_name?: string | null | undefined;
  account_holder_type?: 'individual' | 'company' | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export async function updateBankAccountUseCase(ctx: OperationContext, id: string, change: BankAccountUpdate): Promise<Outcome> {
  const before = await getBankAccount(ctx.reader, ctx.merchant_id, id);
  if (change.default_for_currency === false && before.default_for_currency)
    throw new PayrailError('parameter_invalid', {
      param: 'default_for_currency',
      message: 'To change the default for a currency, set default_for_currency=true on another bank account.',
    });
  const after: BankAccount = {
    ...before,
    default_for_currency: change.default_for_currency === true ? true : before.default_for_currency,
    account_holder_name: change.account_holder_name !== undefined ? change.account_holder_name : before.account_holder_name,
    account_holder_type: change.account_holder_type !== undefined ? change.account_holder_type : before.account_holder_type,
    metadata: change.metadata !== undefined ? mergeMetadata(before.metadata, change.metadata) : before.metadata,
    version: before.version + 1,
  };
  const writes: SqlFragment[] = [];
  if (after.default_for_currency && !before.default_for_currency) {
    const old = (await listBankAccounts(ctx.reader, ctx.merchant_id)).find((a) => a.currency === before.currency && a.default_for_currency);
    if (old) writes.push(updateBankAccount(old, { ...old, default_for_currency: false, version: old.version + 1 }));
  }
  writes.push(updateBankAccount(before, after));
  const outcome: Outcome = { ok: renderBankAccount(after) };
  writes.push(bankAccountEvent(ctx, { type: 'account.external_account.updated', object: renderBankAccount(after) as { id: string } }));
  await ctx.commit(writes, outcome);
  return outcome;
}

/** Stripe refuses to delete the default bank account of a currency while other accounts could take its place. */
export async function deleteBankAccount(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getBankAccount(ctx.reader, ctx.merchant_id, id);
  const same_currency = (await listBankAccounts(ctx.reader, ctx.merchant_id)).filter((a) => a.currency === before.currency);
  if (before.default_for_currency && same_currency.length > 1)
    throw new PayrailError('parameter_invalid', {
      param: 'id',
      message: `You cannot delete the default bank account for ${before.currency}. Make another bank account the default first.`,
    });
  // Stripe's deleted_bank_account: its id and currency.
  const outcome: Outcome = { ok: { id: before.id, object: 'bank_account', currency: before.currency, deleted: true } };
  await ctx.commit(
    [
      sql`DELETE FROM settlement.bank_accounts WHERE merchant_id = ${before.merchant_id} AND id = ${before.id} AND version = ${before.version}`,
      bankAccountEvent(ctx, { type: 'account.external_account.deleted', object: renderBankAccount(before) as { id: string } }),
      auditedChange(ctx, { type: 'bank_account.deleted', object_id: before.id, data: { last4: before.last4 } }),
    ],
    outcome,
  );
  return outcome;
}

function bankAccountEvent(ctx: OperationContext, draft: { type: string; object: { id: string } }): SqlFragment {
  return outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [draft]);
}

export async function retrieveBankAccount(ctx: { reader: OperationContext['reader'] }, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderBankAccount(await getBankAccount(ctx.reader, merchant_id, id));
}

/** Whether the merchant has any bank account in `currency` (for payouts' error messages). */
export async function hasBankAccountIn(db: OperationContext['reader'], merchant_id: string, currency: string): Promise<boolean> {
  const result = await run(db, sql`SELECT 1 FROM settlement.bank_accounts WHERE merchant_id = ${merchant_id} AND currency = ${currency} LIMIT 1`);
  return result.rows.length > 0;
}

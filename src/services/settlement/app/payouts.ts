import type { Db, SqlFragment } from '../../../platform/db.js';
import { isGuardFailure, run, sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { outboxInsert } from '../../events/index.js';
import { auditedChange } from '../../audit/index.js';
import { availableBalances, transferWrites } from '../../ledger/index.js';
import type { Payout } from '../domain/payout.js';
import { payoutTakenTransfer, renderPayout, startOfDay } from '../domain/payout.js';
import { getBankAccount, getPayout, insertPayout, listBankAccounts, updatePayout } from '../adapters/payout-store.js';

/** Manual payouts (`POST /v1/payouts`), their metadata, and the reads behind `/v1/payouts`. */

export interface CreatePayoutParams {
  amount: number;
  currency: string;
  destination?: string | undefined;
  description?: string | undefined;
  statement_descriptor?: string | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/** Stripe's answer to a payout above the available balance. */
function balanceInsufficient(currency: string): PayrailError {
  return new PayrailError('balance_insufficient', {
    message: `You have insufficient funds in your Payrail account for this payout: your available ${currency} balance is too low.`,
  });
}

/**
 * Takes the amount from the available balance and records the payout, its event and the transfer in
 * one statement; the bank is called later, by the payout worker, never inside this request. The
 * balance is read first for a clear error, and checked again atomically by the ledger's limit.
 */
export async function createPayout(ctx: OperationContext, params: CreatePayoutParams): Promise<Outcome> {
  if (params.amount < 1)
    throw new PayrailError('amount_too_small', { param: 'amount', message: 'A payout must be at least 1 in the currency’s smallest unit.' });
  const destination = await destinationFor(ctx, params.currency, params.destination);
  const available = (await availableBalances(ctx.reader, ctx.merchant_id)).get(params.currency);
  if (available === undefined || available < params.amount) throw balanceInsufficient(params.currency);
  const payout: Payout = {
    id: ctx.ids.next('payout'),
    merchant_id: ctx.merchant_id,
    created: ctx.now_s,
    amount: params.amount,
    currency: params.currency,
    arrival_date: startOfDay(ctx.now_s),
    automatic: false,
    destination,
    description: params.description ?? null,
    statement_descriptor: params.statement_descriptor ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    status: 'pending',
    failure_code: null,
    failure_balance_transaction: null,
    run_date: null,
    covers_after: null,
    version: 1,
  };
  const audit = auditedChange(ctx, { type: 'payout.created', object_id: payout.id, data: { amount: payout.amount, currency: payout.currency, destination } });
  return commitNewPayout(ctx, payout, [audit], () => balanceInsufficient(params.currency));
}

/**
 * The payout, its `payout.created` event and its ledger transfer in one statement. A failed guard is
 * the balance limit (or a concurrent change): re-read, it becomes `refused()` when the balance is short.
 */
export async function commitNewPayout(ctx: OperationContext, payout: Payout, extra: SqlFragment[], refused: () => PayrailError): Promise<Outcome> {
  const outcome: Outcome = { ok: renderPayout(payout) };
  const event = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: 'payout.created', object: renderPayout(payout) as { id: string } }]);
  const transfer = transferWrites(payoutTakenTransfer(payout, ctx.request.id ?? payout.id));
  try {
    await ctx.commit([insertPayout(payout), event, ...transfer, ...extra], outcome);
  } catch (error) {
    const short = async () => ((await availableBalances(ctx.reader, ctx.merchant_id)).get(payout.currency) ?? 0) < payout.amount;
    if ((error instanceof PayrailError && error.code === 'lock_timeout') || isGuardFailure(error)) {
      if (await short()) throw refused();
    }
    throw error;
  }
  return outcome;
}

/** The bank account to pay: the one named (the merchant's own, in the payout's currency) or the currency's default. */
async function destinationFor(ctx: OperationContext, currency: string, requested: string | undefined): Promise<string> {
  if (requested !== undefined) {
    const account = await getBankAccount(ctx.reader, ctx.merchant_id, requested, 'destination');
    if (account.currency !== currency)
      throw new PayrailError('parameter_invalid', {
        param: 'destination',
        message: `The bank account ${account.id} is in ${account.currency}; a ${currency} payout needs a ${currency} bank account.`,
      });
    return account.id;
  }
  const fallback = (await listBankAccounts(ctx.reader, ctx.merchant_id)).find((a) => a.currency === currency && a.default_for_currency);
  if (!fallback)
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `You have no bank account in ${currency} to pay out to. Add one with POST /v1/accounts/:id/external_accounts.`,
    });
  return fallback.id;
}

/** `POST /v1/payouts/:id`: Stripe lets only metadata change. */
export async function updatePayoutMetadata(ctx: OperationContext, id: string, metadata: Record<string, string | null> | null | undefined): Promise<Outcome> {
  const before = await getPayout(ctx.reader, ctx.merchant_id, id);
  if (metadata === undefined) return { ok: renderPayout(before) };
  const after: Payout = { ...before, metadata: mergeMetadata(before.metadata, metadata), version: before.version + 1 };
  const outcome: Outcome = { ok: renderPayout(after) };
  const event = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
    { type: 'payout.updated', object: renderPayout(after) as { id: string }, previous_attributes: { metadata: before.metadata } },
  ]);
  await ctx.commit([updatePayout(before, after), event], outcome);
  return outcome;
}

export async function retrievePayout(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderPayout(await getPayout(db, merchant_id, id));
}

export interface PayoutFilter {
  status?: string | undefined;
  destination?: string | undefined;
  arrival_date?: { gt?: number; gte?: number; lt?: number; lte?: number } | undefined;
}

export async function listPayouts(db: Db, merchant_id: string, page: PageRequest, filter: PayoutFilter): Promise<Page<Record<string, unknown>>> {
  const range = filter.arrival_date ?? {};
  const filters = [
    ...(filter.status !== undefined ? [sql`status = ${filter.status}`] : []),
    ...(filter.destination !== undefined ? [sql`destination = ${filter.destination}`] : []),
    ...(range.gt !== undefined ? [sql`arrival_date > ${range.gt}`] : []),
    ...(range.gte !== undefined ? [sql`arrival_date >= ${range.gte}`] : []),
    ...(range.lt !== undefined ? [sql`arrival_date < ${range.lt}`] : []),
    ...(range.lte !== undefined ? [sql`arrival_date <= ${range.lte}`] : []),
  ];
  const result = await listPage<Payout>(db, { table: 'settlement.payouts', column: 'state' }, merchant_id, filters, page);
  return { data: result.data.map(renderPayout), has_more: result.has_more };
}

/**
 * For `GET /v1/balance_transactions?payout=po_…`: what an automatic payout settled. As on Stripe,
 * a manual payout cannot be reconciled this way.
 */
export async function payoutTransactions(db: Db, merchant_id: string, payout_id: string): Promise<string[]> {
  const payout = await findOrMissing(db, merchant_id, payout_id);
  if (!payout.automatic)
    throw new PayrailError('parameter_invalid', {
      param: 'payout',
      message: 'Balance transaction history can only be filtered on automatic payouts, not manual ones.',
    });
  const result = await run<{ balance_transaction: string }>(
    db,
    sql`SELECT balance_transaction FROM settlement.payout_transactions WHERE merchant_id = ${merchant_id} AND payout_id = ${payout_id}`,
  );
  return result.rows.map((row) => row.balance_transaction);
}

async function findOrMissing(db: Db, merchant_id: string, payout_id: string): Promise<Payout> {
  try {
    return await getPayout(db, merchant_id, payout_id);
  } catch (error) {
    if (error instanceof PayrailError) throw new PayrailError('resource_missing', { param: 'payout', message: `No such payout: '${payout_id.slice(0, 64)}'` });
    throw error;
  }
}

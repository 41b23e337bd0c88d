import type { Db } from '../../../platform/db.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { outboxInsert } from '../../events/index.js';
import { availableBalances, connectLegs, connectTransferWrites } from '../../ledger/index.js';
import type { Transfer, TransferReversal } from '../domain/transfer.js';
import { EMBEDDED_REVERSALS, renderReversal, renderTransfer, reversalMovement, reversible } from '../domain/transfer.js';
import {
  embeddedReversals,
  findReversal,
  getReversal,
  getTransfer,
  insertReversal,
  listReversals,
  updateReversal,
  updateTransfer,
} from '../adapters/transfer-store.js';
import { commitOrExplain, retrieveTransfer } from './transfers.js';

/** `/v1/transfers/:id/reversals`: money back from the connected account, never more than the transfer sent. */

export interface CreateReversalParams {
  amount?: number | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/** The destination's available balance, read in its own scope (the platform's reader cannot see it). */
async function destinationAvailable(ctx: OperationContext, transfer: Transfer): Promise<number> {
  return withMerchant(transfer.destination, async () => (await availableBalances(ctx.reader, transfer.destination)).get(transfer.currency) ?? 0);
}

function destinationShort(transfer: Transfer): PayrailError {
  return new PayrailError('balance_insufficient', {
    message: `The destination account ${transfer.destination} has insufficient available funds in ${transfer.currency} to reverse this transfer.`,
  });
}

/**
 * A destination charge's transfer is reversed by refunding its charge with reverse_transfer, which
 * keeps the charge's own count of what was reversed: reversing it here too could take it back twice.
 */
function destinationChargeTransfer(transfer: Transfer): PayrailError {
  return new PayrailError('parameter_invalid', {
    param: 'id',
    message: `Transfer ${transfer.id} was made by destination charge ${transfer.source_transaction}: refund the charge with reverse_transfer=true instead.`,
  });
}

function amountProblem(transfer: Transfer, amount: number): PayrailError | undefined {
  const left = reversible(transfer);
  if (left === 0) return new PayrailError('parameter_invalid', { param: 'amount', message: `Transfer ${transfer.id} has already been fully reversed.` });
  if (amount > left)
    return new PayrailError('amount_too_large', {
      param: 'amount',
      message: `Amount (${amount}) is greater than the amount left to reverse on transfer ${transfer.id} (${left}).`,
    });
  return undefined;
}

/**
 * The reversal, the transfer's new amount_reversed (guarded by its version, so two reversals never
 * both take the same remainder), the event and both ledger legs, in one statement.
 */
export async function createReversal(ctx: OperationContext, transfer_id: string, params: CreateReversalParams): Promise<Outcome> {
  const transfer = await getTransfer(ctx.reader, ctx.merchant_id, transfer_id);
  if (transfer.source_transaction) throw destinationChargeTransfer(transfer);
  const amount = params.amount ?? reversible(transfer);
  const problem = amountProblem(transfer, amount);
  if (problem) throw problem;
  if ((await destinationAvailable(ctx, transfer)) < amount) throw destinationShort(transfer);
  const reversal: TransferReversal = {
    id: ctx.ids.next('transfer_reversal'),
    merchant_id: ctx.merchant_id,
    transfer_id: transfer.id,
    amount,
    currency: transfer.currency,
    created: ctx.now_s,
    destination_payment_refund: ctx.ids.next('destination_payment_refund'),
    balance_transaction: '',
    metadata: mergeMetadata({}, params.metadata ?? {}),
    version: 1,
  };
  const movement = reversalMovement(transfer, reversal, ctx.request.id ?? reversal.id);
  reversal.balance_transaction = connectLegs(movement).platform.id;
  const after: Transfer = { ...transfer, amount_reversed: transfer.amount_reversed + amount, version: transfer.version + 1 };
  const before_list = await embeddedReversals(ctx.reader, transfer);
  const embedded = {
    data: [reversal, ...before_list.data].slice(0, EMBEDDED_REVERSALS),
    has_more: before_list.has_more || before_list.data.length >= EMBEDDED_REVERSALS,
  };
  const event = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
    {
      type: 'transfer.reversed',
      object: renderTransfer(after, embedded) as { id: string },
      previous_attributes: { amount_reversed: transfer.amount_reversed },
    },
  ]);
  const outcome: Outcome = { ok: renderReversal(reversal) };
  const writes = [insertReversal(reversal), updateTransfer(transfer, after), event, ...connectTransferWrites(movement)];
  await commitOrExplain(ctx, writes, outcome, async () => {
    const now = await getTransfer(ctx.reader, ctx.merchant_id, transfer.id);
    return amountProblem(now, amount) ?? ((await destinationAvailable(ctx, transfer)) < amount ? destinationShort(transfer) : undefined);
  });
  return outcome;
}

/** `POST /v1/transfers/:id/reversals/:reversal`: only metadata changes. */
export async function updateReversalMetadata(
  ctx: OperationContext,
  transfer_id: string,
  id: string,
  metadata: Record<string, string | null> | null | undefined,
): Promise<Outcome> {
  const before = await getReversal(ctx.reader, ctx.merchant_id, transfer_id, id);
  if (metadata === undefined) return { ok: renderReversal(before) };
  const after: TransferReversal = { ...before, metadata: mergeMetadata(before.metadata, metadata), version: before.version + 1 };
  const outcome: Outcome = { ok: renderReversal(after) };
  await ctx.commit([updateReversal(before, after)], outcome);
  return outcome;
}

export async function retrieveReversal(db: Db, merchant_id: string, transfer_id: string, id: string): Promise<Record<string, unknown>> {
  return renderReversal(await getReversal(db, merchant_id, transfer_id, id));
}

export async function listReversalsUseCase(db: Db, merchant_id: string, transfer_id: string, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  await getTransfer(db, merchant_id, transfer_id);
  const result = await listReversals(db, merchant_id, transfer_id, page);
  return { data: result.data.map(renderReversal), has_more: result.has_more };
}

/** For `expand[]=source` on the platform's balance transactions: the transfer (`tr_…`) or reversal (`trr_…`) it is about. */
export async function transferSource(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown> | undefined> {
  if (id.startsWith('trr_')) {
    const reversal = await findReversal(db, merchant_id, id);
    return reversal && renderReversal(reversal);
  }
  return id.startsWith('tr_') ? retrieveTransfer(db, merchant_id, id) : undefined;
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { isGuardFailure } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { outboxInsert } from '../../events/index.js';
import { availableBalances, connectLegs, connectTransferWrites } from '../../ledger/index.js';
import { connectedAccountOf } from '../../merchants/index.js';
import type { Transfer } from '../domain/transfer.js';
import { renderTransfer, transferMovement } from '../domain/transfer.js';
import type { TransferFilter } from '../adapters/transfer-store.js';
import { embeddedReversals, getTransfer, insertTransfer, listTransfers, updateTransfer } from '../adapters/transfer-store.js';

/** `/v1/transfers`: a platform sends part of its available balance to one of its connected accounts. */

export interface CreateTransferParams {
  amount: number;
  currency: string;
  destination: string;
  description?: string | undefined;
  transfer_group?: string | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

/** Stripe's answer to a transfer above the available balance, naming Payrail's way to add funds. */
function balanceInsufficient(): PayrailError {
  return new PayrailError('balance_insufficient', {
    message:
      'You have insufficient available funds in your Payrail account. Try adding funds directly to your available balance by creating charges with the pm_card_bypassPending test payment method.',
  });
}

/**
 * Checks the destination and the balance (for a clear error), then records the transfer, its event and
 * both ledger legs in one statement; the platform's balance floor is checked again atomically there.
 */
export async function createTransfer(ctx: OperationContext, params: CreateTransferParams): Promise<Outcome> {
  const destination = await connectedAccountOf(ctx.reader, ctx.merchant_id, params.destination);
  if (!destination) throw new PayrailError('resource_missing', { param: 'destination', message: `No such destination: '${params.destination.slice(0, 64)}'` });
  if (destination.default_currency !== params.currency)
    throw new PayrailError('parameter_invalid', {
      param: 'currency',
      message: `The destination account ${destination.id} settles in ${destination.default_currency}; Payrail transfers without conversion, so the transfer must be in ${destination.default_currency}.`,
    });
  if (((await availableBalances(ctx.reader, ctx.merchant_id)).get(params.currency) ?? 0) < params.amount) throw balanceInsufficient();
  const id = ctx.ids.next('transfer');
  const transfer: Transfer = {
    id,
    merchant_id: ctx.merchant_id,
    amount: params.amount,
    amount_reversed: 0,
    currency: params.currency,
    created: ctx.now_s,
    description: params.description ?? null,
    destination: destination.id,
    destination_payment: ctx.ids.next('destination_payment'),
    balance_transaction: '',
    metadata: mergeMetadata({}, params.metadata ?? {}),
    transfer_group: params.transfer_group ?? null,
    version: 1,
  };
  const movement = transferMovement(transfer, ctx.request.id ?? id);
  transfer.balance_transaction = connectLegs(movement).platform.id;
  const object = renderTransfer(transfer, { data: [], has_more: false });
  const outcome: Outcome = { ok: object };
  const event = outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: 'transfer.created', object: object as { id: string } }]);
  await commitOrExplain(ctx, [insertTransfer(transfer), event, ...connectTransferWrites(movement)], outcome, async () => {
    const available = (await availableBalances(ctx.reader, ctx.merchant_id)).get(transfer.currency) ?? 0;
    return available < transfer.amount ? balanceInsufficient() : undefined;
  });
  return outcome;
}

/**
 * Commits; when a guard failed (a balance floor, or a concurrent change), asks `explain` whether a
 * balance now falls short and answers that error instead of the generic retry.
 */
export async function commitOrExplain(
  ctx: OperationContext,
  writes: SqlFragment[],
  outcome: Outcome,
  explain: () => Promise<PayrailError | undefined>,
): Promise<void> {
  try {
    await ctx.commit(writes, outcome);
  } catch (error) {
    if ((error instanceof PayrailError && error.code === 'lock_timeout') || isGuardFailure(error)) {
      const refusal = await explain();
      if (refusal) throw refusal;
    }
    throw error;
  }
}

/** `POST /v1/transfers/:id`: Stripe lets description and metadata change. */
export async function updateTransferUseCase(
  ctx: OperationContext,
  id: string,
  changes: { description?: string | undefined; metadata?: Record<string, string | null> | null | undefined },
): Promise<Outcome> {
  const before = await getTransfer(ctx.reader, ctx.merchant_id, id);
  const reversals = await embeddedReversals(ctx.reader, before);
  if (changes.description === undefined && changes.metadata === undefined) return { ok: renderTransfer(before, reversals) };
  const after: Transfer = {
    ...before,
    description: changes.description ?? before.description,
    metadata: changes.metadata === undefined ? before.metadata : mergeMetadata(before.metadata, changes.metadata),
    version: before.version + 1,
  };
  const previous: Record<string, unknown> = {};
  if (after.description !== before.description) previous.description = before.description;
  if (JSON.stringify(after.metadata) !== JSON.stringify(before.metadata)) previous.metadata = before.metadata;
  const object = renderTransfer(after, reversals);
  const outcome: Outcome = { ok: object };
  const writes: SqlFragment[] = [updateTransfer(before, after)];
  if (Object.keys(previous).length > 0)
    writes.push(
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [
        { type: 'transfer.updated', object: object as { id: string }, previous_attributes: previous },
      ]),
    );
  await ctx.commit(writes, outcome);
  return outcome;
}

export async function retrieveTransfer(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const transfer = await getTransfer(db, merchant_id, id);
  return renderTransfer(transfer, await embeddedReversals(db, transfer));
}

export async function listTransfersUseCase(db: Db, merchant_id: string, page: PageRequest, filter: TransferFilter): Promise<Page<Record<string, unknown>>> {
  const result = await listTransfers(db, merchant_id, page, filter);
  // Only partly or wholly reversed transfers read their reversals.
  const data = await Promise.all(result.data.map(async (t) => renderTransfer(t, await embeddedReversals(db, t))));
  return { data, has_more: result.has_more };
}

import type pg from 'pg';
import { run } from '../../../platform/db.js';
import type { ConsumedEvent, EventDraft } from '../../events/index.js';
import type { ConnectMovement } from '../../ledger/index.js';
import { connectLegs, postTransfers, transferId } from '../../ledger/index.js';
import { derivedObjectId } from '../../payments/index.js';
import type { DestinationTransfer } from '../domain/destination-charge.js';
import type { FeeRefund } from '../domain/fee-refund.js';
import { feeRefundMovement } from '../domain/fee-refund.js';
import { findFee, findTransferOfCharge, insertFeeRefundOnce, publishTransferReversed, updateFee, updateTransferReversed } from '../adapters/store.js';
import { renderApplicationFee } from '../adapters/render.js';
import { renderDestinationTransfer } from '../adapters/transfer-render.js';

/**
 * A destination charge's refund with `reverse_transfer` or `refund_application_fee`: the shares
 * payments computed ride on the refund's event, and are taken back here, in the ledger consumer's
 * transaction for that event, so each happens once. Ids derive from the refund. Each is capped at
 * what is left (a fee the platform already refunded by hand is not refunded twice).
 */

interface RefundFacts {
  id: string;
  charge: string;
  currency: string;
}

export function refundSharesOf(event: ConsumedEvent): { transfer_reversal: number; application_fee_refund: number } | undefined {
  if (event.type !== 'refund.created' || !event.internal) return undefined;
  const transfer_reversal = Number(event.internal.transfer_reversal ?? 0);
  const application_fee_refund = Number(event.internal.application_fee_refund ?? 0);
  return transfer_reversal > 0 || application_fee_refund > 0 ? { transfer_reversal, application_fee_refund } : undefined;
}

export async function applyRefund(
  tx: pg.PoolClient,
  event: ConsumedEvent,
  shares: { transfer_reversal: number; application_fee_refund: number },
): Promise<EventDraft[]> {
  const refund = event.data.object as unknown as RefundFacts;
  const drafts: EventDraft[] = [];
  const transfer = shares.transfer_reversal > 0 ? await findTransferOfCharge(tx, event.merchant_id, refund.charge) : undefined;
  if (transfer) drafts.push(...(await reverseTransfer(tx, event, refund, transfer, shares.transfer_reversal)));
  if (shares.application_fee_refund > 0) drafts.push(...(await refundFee(tx, event, refund, shares.application_fee_refund)));
  return drafts;
}

async function reverseTransfer(
  tx: pg.PoolClient,
  event: ConsumedEvent,
  refund: RefundFacts,
  transfer: DestinationTransfer,
  share: number,
): Promise<EventDraft[]> {
  const amount = Math.min(share, transfer.amount - transfer.amount_reversed);
  if (amount <= 0) return [];
  const reversal_id = derivedObjectId('trr', refund.id);
  const at = event.created;
  const movement: ConnectMovement = {
    platform: { merchant_id: transfer.merchant_id, kind: 'connect_transfer_reversal', source_id: reversal_id, available_on: at },
    connected: { merchant_id: transfer.destination, kind: 'connect_payment_refund', source_id: reversal_id, available_on: at },
    amount,
    currency: transfer.currency,
    payer: 'connected',
    // As Stripe does for a refund's reversal, the connected account's balance may go negative.
    floor_at_zero: false,
    cause: { event_id: event.id, type: event.type },
    created: at,
  };
  await postLegs(tx, movement);
  const reversed = { ...transfer, amount_reversed: transfer.amount_reversed + amount };
  await guarded(tx, updateTransferReversed(reversed, transfer.amount_reversed), `transfer ${transfer.id}`);
  await run(tx, publishTransferReversed(reversed));
  return [
    {
      type: 'transfer.reversed',
      object: renderDestinationTransfer(reversed),
      previous_attributes: { amount_reversed: transfer.amount_reversed, reversed: false },
    },
  ];
}

async function refundFee(tx: pg.PoolClient, event: ConsumedEvent, refund: RefundFacts, share: number): Promise<EventDraft[]> {
  const found = await findFee(tx, event.merchant_id, derivedObjectId('fee', refund.charge));
  if (!found) return [];
  const { fee, version } = found;
  const amount = Math.min(share, fee.amount - fee.amount_refunded);
  if (amount <= 0) return [];
  const id = derivedObjectId('fr', refund.id);
  const movement = feeRefundMovement(fee, id, amount, { event_id: event.id, type: event.type }, event.created);
  const fee_refund: FeeRefund = {
    id,
    merchant_id: fee.merchant_id,
    fee: fee.id,
    amount,
    currency: fee.currency,
    balance_transaction: transferId(movement.platform.kind, movement.platform.source_id, movement.created),
    metadata: {},
    created: event.created,
  };
  if (!(await insertFeeRefundOnce(tx, fee_refund))) return [];
  await postLegs(tx, movement);
  const refunded = { ...fee, amount_refunded: fee.amount_refunded + amount };
  await guarded(tx, updateFee(refunded, version), `application fee ${fee.id}`);
  return [
    {
      type: 'application_fee.refunded',
      object: renderApplicationFee(refunded),
      previous_attributes: { amount_refunded: fee.amount_refunded, refunded: false },
    },
  ];
}

async function postLegs(tx: pg.PoolClient, movement: ConnectMovement): Promise<void> {
  const legs = connectLegs(movement);
  const refused = (await postTransfers(tx, [legs.platform, legs.connected])).filter((r) => r.result !== 'ok');
  if (refused.length > 0) throw new Error(`ledger refused ${refused.map((r) => `${r.id} ${r.result}`).join(', ')}`);
}

/** A write whose guard failed means a concurrent change: the batch fails and the consumer retries it. */
async function guarded(tx: pg.PoolClient, write: Parameters<typeof run>[1], what: string): Promise<void> {
  const result = await run(tx, write);
  if (result.rowCount !== 1) throw new Error(`${what} changed concurrently; the batch will be retried`);
}

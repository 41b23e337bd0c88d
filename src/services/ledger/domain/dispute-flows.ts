import { assert } from '../../../kernel/assert.js';
import { currencyInfo } from '../../../kernel/money.js';
import { transferId } from './ids.js';
import type { TransferRequest } from './transfer.js';

/**
 * Disputes (chargebacks) on the ledger, as Stripe posts them in the US. When a chargeback opens, the
 * processor claws the disputed amount back (it owes Payrail that much less: `processor_receivable` is
 * credited) and the merchant's available balance pays it plus the dispute fee, which Payrail keeps:
 *
 *   dispute           merchant_available +(A+F), processor_receivable −A, platform_fees −F
 *   dispute_reversal  merchant_available −(A+F), processor_receivable +A, platform_fees +F   (won)
 *
 * A = the disputed amount, F = the dispute fee. The merchant sees them as balance transactions of
 * type `adjustment` (reporting categories `dispute` and `dispute_reversal`): amount −A, fee F, net
 * −(A+F), available at once; a won dispute returns the amount and the fee. A lost one posts nothing
 * more: the money left when the dispute opened. An inquiry moves no money until it becomes a chargeback.
 * Pure: the events carry the dispute, the caller posts what this returns.
 */

/** The outbox events that move a dispute's money, as the disputes service emits them. */
export const DISPUTE_EVENT_TYPES = ['charge.dispute.funds_withdrawn', 'charge.dispute.funds_reinstated'] as const;

/** Stripe's US dispute fee is $15.00; Payrail charges 15 whole units of the dispute's currency. */
const DISPUTE_FEE_MAJOR_UNITS = 15;

export function disputeFee(currency: string): number {
  const info = currencyInfo(currency);
  assert(info !== undefined, `dispute fee asked for unsupported currency ${currency}`);
  return DISPUTE_FEE_MAJOR_UNITS * 10 ** info.exponent;
}

/** What the ledger needs of a dispute: its id, money, creation time (the ids derive from it) and merchant. */
export interface DisputeMoney {
  merchant_id: string;
  id: string;
  amount: number;
  currency: string;
  created: number;
}

export type DisputeKind = 'dispute' | 'dispute_reversal';

/** The transfer of a dispute's money moving at `at` (unix seconds): withdrawn (`dispute`) or returned. */
export function disputeTransfer(dispute: DisputeMoney, kind: DisputeKind, at: number, cause: { event_id: string; type: string }): TransferRequest {
  const fee = disputeFee(dispute.currency);
  const sign = kind === 'dispute' ? 1 : -1;
  return {
    id: transferId(kind, dispute.id, dispute.created),
    merchant_id: dispute.merchant_id,
    currency: dispute.currency,
    kind,
    source_id: dispute.id,
    postings: [
      { account: 'merchant_available', amount: sign * (dispute.amount + fee) },
      { account: 'processor_receivable', amount: -sign * dispute.amount },
      { account: 'platform_fees', amount: -sign * fee },
    ],
    cause,
    created: at,
    available_on: at,
  };
}

/** An event whose dispute is not what the disputes service emits: the consumer parks it. */
export class MalformedDisputeEvent extends Error {
  override name = 'MalformedDisputeEvent';
}

interface DisputeEvent {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
}

/** The transfer a dispute money event causes; other events cause none. */
export function disputeTransfers(event: DisputeEvent): TransferRequest[] {
  const kind: DisputeKind | undefined =
    event.type === 'charge.dispute.funds_withdrawn' ? 'dispute' : event.type === 'charge.dispute.funds_reinstated' ? 'dispute_reversal' : undefined;
  if (kind === undefined) return [];
  const object = event.data.object;
  const amount = object.amount;
  const created = object.created;
  const { id, currency } = object;
  if (typeof id !== 'string' || typeof currency !== 'string' || currencyInfo(currency) === undefined) {
    throw new MalformedDisputeEvent(`event ${event.id} (${event.type}): the dispute needs an id and a supported currency`);
  }
  if (!Number.isSafeInteger(amount) || (amount as number) <= 0 || !Number.isSafeInteger(created) || (created as number) < 0) {
    throw new MalformedDisputeEvent(`event ${event.id} (${event.type}): the dispute needs a positive amount and a created time`);
  }
  const dispute = { merchant_id: event.merchant_id, id, currency, amount: amount as number, created: created as number };
  return [disputeTransfer(dispute, kind, event.created, { event_id: event.id, type: event.type })];
}

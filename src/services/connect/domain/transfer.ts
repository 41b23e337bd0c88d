import type { ConnectMovement } from '../../ledger/index.js';

/**
 * Stripe's Transfer and TransferReversal: money a platform sends from its available balance to one
 * of its connected accounts, and sends back. Each is one connect movement in the ledger: the
 * platform's balance transaction (`transfer`, `transfer_refund`) and the connected account's (a
 * `payment` for the `py_` destination payment, a `payment_refund` for its `pyr_` refund).
 */

export interface Transfer {
  id: string;
  /** The platform that sent it. */
  merchant_id: string;
  amount: number;
  amount_reversed: number;
  currency: string;
  created: number;
  description: string | null;
  /** The connected account (`acct_…`). */
  destination: string;
  /** The `py_…` payment the destination's balance transaction names. */
  destination_payment: string;
  /** The platform's balance transaction (`txn_…`). */
  balance_transaction: string;
  metadata: Record<string, string>;
  transfer_group: string | null;
  /** The charge that funded it: a destination charge's (connect-charges); null for a separate transfer. Absent in rows stored before it existed. */
  source_transaction?: string | null;
  version: number;
}

export interface TransferReversal {
  id: string;
  merchant_id: string;
  transfer_id: string;
  amount: number;
  currency: string;
  created: number;
  /** The `pyr_…` refund of the destination payment. */
  destination_payment_refund: string;
  /** The platform's balance transaction (`txn_…`). */
  balance_transaction: string;
  metadata: Record<string, string>;
  version: number;
}

/** Reversals embedded in a transfer, as Stripe embeds them: the newest ten. */
export const EMBEDDED_REVERSALS = 10;

export function renderReversal(reversal: TransferReversal): Record<string, unknown> {
  return {
    id: reversal.id,
    object: 'transfer_reversal',
    amount: reversal.amount,
    balance_transaction: reversal.balance_transaction,
    created: reversal.created,
    currency: reversal.currency,
    destination_payment_refund: reversal.destination_payment_refund,
    metadata: reversal.metadata,
    source_refund: null,
    transfer: reversal.transfer_id,
  };
}

/** `reversals`: the newest first, at most EMBEDDED_REVERSALS of them, `has_more` past those. */
export function renderTransfer(transfer: Transfer, reversals: { data: readonly TransferReversal[]; has_more: boolean }): Record<string, unknown> {
  return {
    id: transfer.id,
    object: 'transfer',
    amount: transfer.amount,
    amount_reversed: transfer.amount_reversed,
    balance_transaction: transfer.balance_transaction,
    created: transfer.created,
    currency: transfer.currency,
    description: transfer.description,
    destination: transfer.destination,
    destination_payment: transfer.destination_payment,
    livemode: false,
    metadata: transfer.metadata,
    reversals: { object: 'list', data: reversals.data.map(renderReversal), has_more: reversals.has_more, url: `/v1/transfers/${transfer.id}/reversals` },
    reversed: transfer.amount_reversed === transfer.amount,
    source_transaction: transfer.source_transaction ?? null,
    source_type: 'card',
    transfer_group: transfer.transfer_group,
  };
}

/** What the transfer has left to reverse. */
export function reversible(transfer: Transfer): number {
  return transfer.amount - transfer.amount_reversed;
}

/** The ledger movement of a transfer: from the platform's available balance to the destination's, at once. */
export function transferMovement(transfer: Transfer, cause_event_id: string): ConnectMovement {
  return {
    platform: { merchant_id: transfer.merchant_id, kind: 'connect_transfer', source_id: transfer.id, available_on: transfer.created },
    connected: { merchant_id: transfer.destination, kind: 'connect_payment', source_id: transfer.destination_payment, available_on: transfer.created },
    amount: transfer.amount,
    currency: transfer.currency,
    payer: 'platform',
    floor_at_zero: true,
    cause: { event_id: cause_event_id, type: 'transfer.created' },
    created: transfer.created,
  };
}

/** The ledger movement of a reversal: back from the destination's available balance, which may not go negative. */
export function reversalMovement(transfer: Transfer, reversal: TransferReversal, cause_event_id: string): ConnectMovement {
  return {
    platform: { merchant_id: transfer.merchant_id, kind: 'connect_transfer_reversal', source_id: reversal.id, available_on: reversal.created },
    connected: {
      merchant_id: transfer.destination,
      kind: 'connect_payment_refund',
      source_id: reversal.destination_payment_refund,
      available_on: reversal.created,
    },
    amount: reversal.amount,
    currency: reversal.currency,
    payer: 'connected',
    floor_at_zero: true,
    cause: { event_id: cause_event_id, type: 'transfer.reversed' },
    created: reversal.created,
  };
}

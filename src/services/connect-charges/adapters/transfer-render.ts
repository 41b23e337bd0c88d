import type { Transfer } from '../../connect/index.js';
import { renderTransfer } from '../../connect/index.js';
import type { DestinationTransfer } from '../domain/destination-charge.js';
import { destinationPaymentOf } from '../domain/destination-charge.js';

/** The capture's transfer as the connect service keeps and renders every transfer (`/v1/transfers`). */
export function asTransfer(transfer: DestinationTransfer): Transfer {
  return {
    id: transfer.id,
    merchant_id: transfer.merchant_id,
    amount: transfer.amount,
    amount_reversed: transfer.amount_reversed,
    currency: transfer.currency,
    created: transfer.created,
    description: null,
    destination: transfer.destination,
    destination_payment: destinationPaymentOf(transfer),
    balance_transaction: transfer.balance_transaction,
    metadata: {},
    transfer_group: transfer.transfer_group,
    source_transaction: transfer.source_transaction,
    version: 1,
  };
}

/** Stripe's `transfer` for the one a destination charge's capture makes (its reversals are the refunds': none listed). */
export function renderDestinationTransfer(transfer: DestinationTransfer): { id: string } & Record<string, unknown> {
  return { id: transfer.id, ...renderTransfer(asTransfer(transfer), { data: [], has_more: false }) };
}

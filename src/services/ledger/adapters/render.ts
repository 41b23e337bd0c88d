import { assert } from '../../../kernel/assert.js';
import type { AccountTotals } from '../domain/accounts.js';
import { balanceOf } from '../domain/accounts.js';
import type { Conversion, TransferKind } from '../domain/transfer.js';

/**
 * Stripe's `balance` and `balance_transaction`, read from the ledger. A balance transaction is a
 * transfer the merchant can see (it moves the merchant's balance); its amount, fee and net come
 * from the transfer's postings.
 */

/** Merchant-visible transfer kinds and their Stripe type and reporting category. */
export const BALANCE_TRANSACTION_TYPES: Readonly<Partial<Record<TransferKind, { type: string; reporting_category: string }>>> = {
  capture: { type: 'charge', reporting_category: 'charge' },
  refund: { type: 'refund', reporting_category: 'refund' },
  refund_failure: { type: 'refund_failure', reporting_category: 'refund_failure' },
  adjustment: { type: 'adjustment', reporting_category: 'other_adjustment' },
  dispute: { type: 'adjustment', reporting_category: 'dispute' },
  dispute_reversal: { type: 'adjustment', reporting_category: 'dispute_reversal' },
  payout: { type: 'payout', reporting_category: 'payout' },
  payout_failure: { type: 'payout_failure', reporting_category: 'payout_reversal' },
  payout_cancel: { type: 'payout_cancel', reporting_category: 'payout_reversal' },
  // Connect: the platform's side of a transfer and of its reversal, and the connected account's.
  connect_transfer: { type: 'transfer', reporting_category: 'transfer' },
  connect_transfer_reversal: { type: 'transfer_refund', reporting_category: 'transfer_reversal' },
  connect_payment: { type: 'payment', reporting_category: 'charge' },
  connect_payment_refund: { type: 'payment_refund', reporting_category: 'refund' },
  application_fee_refund: { type: 'application_fee_refund', reporting_category: 'platform_earning_refund' },
};

export const VISIBLE_KINDS = Object.keys(BALANCE_TRANSACTION_TYPES) as TransferKind[];

export function kindsForStripeType(type: string): TransferKind[] {
  return VISIBLE_KINDS.filter((kind) => BALANCE_TRANSACTION_TYPES[kind]?.type === type);
}

export interface BalanceTransactionRow {
  id: string;
  kind: TransferKind;
  currency: string;
  created: number;
  available_on: number | null;
  net: number;
  fee: number;
  source_id: string;
  /** Set when the money was converted from another currency (the settlement leg of an FX conversion). */
  conversion?: Conversion | null;
}

export const FEE_DESCRIPTION = 'Payrail processing fees';
/** A dispute's fee is named as Stripe names it. */
const DISPUTE_FEE_DESCRIPTION = 'Dispute fee';
export const FX_FEE_DESCRIPTION = 'Currency conversion fee';

export function renderBalanceTransaction(row: BalanceTransactionRow, now_s: number): Record<string, unknown> {
  const names = BALANCE_TRANSACTION_TYPES[row.kind];
  assert(names !== undefined, `transfer ${row.id} (${row.kind}) is not a balance transaction`);
  const available_on = row.available_on ?? row.created;
  const fee_description = row.kind === 'dispute' || row.kind === 'dispute_reversal' ? DISPUTE_FEE_DESCRIPTION : FEE_DESCRIPTION;
  return {
    id: row.id,
    object: 'balance_transaction',
    amount: row.net + row.fee,
    available_on,
    created: row.created,
    currency: row.currency,
    description: null,
    // Stripe's exchange_rate is a JSON number; the exact decimal stays in the ledger.
    exchange_rate: row.conversion ? Number(row.conversion.exchange_rate) : null,
    fee: row.fee,
    fee_details: feeDetails(row, fee_description),
    net: row.net,
    reporting_category: names.reporting_category,
    source: row.source_id,
    status: available_on <= now_s ? 'available' : 'pending',
    type: names.type,
  };
}

/** The fee's lines, in the balance transaction's currency: processing, then the conversion fee when there is one. */
function feeDetails(row: BalanceTransactionRow, description: string): Record<string, unknown>[] {
  const fx_fee = row.conversion?.fx_fee ?? 0;
  const lines = [
    { amount: row.fee - fx_fee, description },
    { amount: fx_fee, description: FX_FEE_DESCRIPTION },
  ];
  return lines.filter((line) => line.amount !== 0).map((line) => ({ ...line, application: null, currency: row.currency, type: 'stripe_fee' }));
}

/** Available and pending per currency; a merchant that never moved money sees zero USD, as in Stripe. */
export function renderBalance(accounts: readonly AccountTotals[]): Record<string, unknown> {
  const amounts = (code: 'merchant_available' | 'merchant_pending') => {
    const rows = accounts.filter((a) => a.code === code).map((a) => ({ amount: balanceOf(a), currency: a.currency, source_types: { card: balanceOf(a) } }));
    return rows.length > 0 ? rows : [{ amount: 0, currency: 'usd', source_types: { card: 0 } }];
  };
  return { object: 'balance', available: amounts('merchant_available'), livemode: false, pending: amounts('merchant_pending') };
}

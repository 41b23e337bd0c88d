import type { TransferRequest } from '../../ledger/index.js';
import { transferId } from '../../ledger/index.js';
import type { PayoutFailureCode } from './bank-account.js';
import { PAYOUT_FAILURE_MESSAGES } from './bank-account.js';

/**
 * Stripe's `payout`, its states and the money each state change moves. Pure: ids, time and the
 * bank's answer come in as values.
 *
 *   created (pending)   merchant_available +A, payouts_in_transit −A    (kind payout; limit: available ≥ 0)
 *   paid                payouts_in_transit +A, settlement_cash −A       (kind payout_paid: the cash leaves Payrail)
 *   failed              payouts_in_transit +A, merchant_available −A    (kind payout_failure: the funds come back)
 *   canceled            payouts_in_transit +A, merchant_available −A    (kind payout_cancel, only while pending)
 */

export type PayoutStatus = 'pending' | 'in_transit' | 'paid' | 'failed' | 'canceled';

export interface Payout {
  id: string;
  merchant_id: string;
  created: number;
  amount: number;
  currency: string;
  arrival_date: number;
  automatic: boolean;
  destination: string;
  description: string | null;
  statement_descriptor: string | null;
  metadata: Record<string, string>;
  status: PayoutStatus;
  failure_code: PayoutFailureCode | null;
  /** The balance transaction of the money coming back (failed or canceled). */
  failure_balance_transaction: string | null;
  /** Automatic payouts: the UTC day (YYYY-MM-DD) of the scheduled run, and the time the previous one covered up to. */
  run_date: string | null;
  covers_after: number | null;
  version: number;
}

export const DAY_S = 86_400;

/** Midnight UTC of the day `time_s` falls in: Stripe's arrival dates are days. */
export function startOfDay(time_s: number): number {
  return time_s - (time_s % DAY_S);
}

export function payoutTransactionId(payout: Pick<Payout, 'id' | 'created'>): string {
  return transferId('payout', payout.id, payout.created);
}

export function renderPayout(payout: Payout): Record<string, unknown> {
  return {
    id: payout.id,
    object: 'payout',
    amount: payout.amount,
    arrival_date: payout.arrival_date,
    automatic: payout.automatic,
    balance_transaction: payoutTransactionId(payout),
    created: payout.created,
    currency: payout.currency,
    description: payout.description,
    destination: payout.destination,
    failure_balance_transaction: payout.failure_balance_transaction,
    failure_code: payout.failure_code,
    failure_message: payout.failure_code === null ? null : PAYOUT_FAILURE_MESSAGES[payout.failure_code],
    livemode: false,
    metadata: payout.metadata,
    method: 'standard',
    original_payout: null,
    // Stripe: `completed` once ?payout= lists what an automatic payout settled; manual ones never are.
    reconciliation_status: payout.automatic ? 'completed' : 'not_applicable',
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: payout.statement_descriptor,
    status: payout.status,
    type: 'bank_account',
  };
}

/** The transfer that takes a new payout's amount from the available balance, never below zero. */
export function payoutTakenTransfer(payout: Payout, cause_event_id: string): TransferRequest {
  return {
    id: payoutTransactionId(payout),
    merchant_id: payout.merchant_id,
    currency: payout.currency,
    kind: 'payout',
    source_id: payout.id,
    postings: [
      { account: 'merchant_available', amount: payout.amount },
      { account: 'payouts_in_transit', amount: -payout.amount },
    ],
    cause: { event_id: cause_event_id, type: 'payout.created' },
    created: payout.created,
    available_on: payout.created,
    limits: [{ account: 'merchant_available', floor: 0 }],
  };
}

export type PayoutEnd = { status: 'paid' } | { status: 'failed'; failure_code: PayoutFailureCode } | { status: 'canceled' };

/** The transfer that ends a payout: the cash leaves (paid) or the funds come back (failed, canceled). */
export function payoutEndTransfer(payout: Payout, end: PayoutEnd, now_s: number, cause_event_id: string): TransferRequest {
  const kind = end.status === 'paid' ? 'payout_paid' : end.status === 'failed' ? 'payout_failure' : 'payout_cancel';
  const to = end.status === 'paid' ? 'settlement_cash' : 'merchant_available';
  return {
    id: transferId(kind, payout.id, payout.created),
    merchant_id: payout.merchant_id,
    currency: payout.currency,
    kind,
    source_id: payout.id,
    postings: [
      { account: 'payouts_in_transit', amount: payout.amount },
      { account: to, amount: -payout.amount },
    ],
    cause: { event_id: cause_event_id, type: `payout.${end.status}` },
    created: now_s,
    available_on: end.status === 'paid' ? null : now_s,
  };
}

/** The payout after its end; the caller has checked the state allows it. */
export function endPayout(payout: Payout, end: PayoutEnd): Payout {
  const failure_balance_transaction =
    end.status === 'paid' ? null : transferId(end.status === 'failed' ? 'payout_failure' : 'payout_cancel', payout.id, payout.created);
  return {
    ...payout,
    status: end.status,
    failure_code: end.status === 'failed' ? end.failure_code : null,
    failure_balance_transaction,
    version: payout.version + 1,
  };
}

/** Stripe's `statement_descriptor` for payouts: up to 22 characters, no <>\\'"*. */
export function statementDescriptorProblem(value: string): string | null {
  if (value.length > 22) return 'The statement descriptor must be at most 22 characters.';
  if (/[<>\\'"*]/.test(value)) return 'The statement descriptor may not contain <, >, \\, \', " or *.';
  return null;
}

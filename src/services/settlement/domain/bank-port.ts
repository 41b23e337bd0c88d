import type { PayoutFailureCode } from './bank-account.js';

/**
 * The bank rail payouts leave through. `send` must be idempotent by `payout_id`: asked again about a
 * payout it already took (after a crash between its answer and Payrail's commit), it answers what it
 * answered then and moves no money a second time. That is how a payout is resolved by asking, never
 * by paying again.
 */
export interface BankTransferRequest {
  payout_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  routing_number: string;
  /** In clear only for this call; never logged, stored or echoed back. */
  account_number: string;
}

export type BankAnswer = { status: 'paid' } | { status: 'failed'; failure_code: PayoutFailureCode };

export interface BankRail {
  send(request: BankTransferRequest): Promise<BankAnswer>;
}

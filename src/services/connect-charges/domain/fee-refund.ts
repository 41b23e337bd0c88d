import { PayrailError } from '../../../kernel/errors.js';
import type { ConnectMovement } from '../../ledger/index.js';
import type { ApplicationFee } from './destination-charge.js';

type Cause = ConnectMovement['cause'];

/** A refund of part or all of an application fee (Stripe's `fee_refund`, `fr_…`): the platform gives it back to the connected account. */
export interface FeeRefund {
  id: string;
  /** The platform. */
  merchant_id: string;
  fee: string;
  amount: number;
  currency: string;
  /** The platform's balance transaction for it. */
  balance_transaction: string;
  metadata: Record<string, string>;
  created: number;
}

/** The amount a fee refund gives back: the rest of the fee by default, never more than is left. */
export function planFeeRefund(fee: ApplicationFee, requested: number | undefined): number {
  const remaining = fee.amount - fee.amount_refunded;
  if (remaining === 0) throw new PayrailError('amount_too_large', { param: 'amount', message: `Application fee ${fee.id} has already been refunded.` });
  const amount = requested ?? remaining;
  if (amount > remaining) {
    throw new PayrailError('amount_too_large', {
      param: 'amount',
      message: `Refund amount (${amount}) is greater than the unrefunded amount of the application fee (${remaining}).`,
    });
  }
  if (amount <= 0) throw new PayrailError('parameter_invalid_integer', { param: 'amount', message: 'Refund amount must be positive.' });
  return amount;
}

/** The platform's available balance gives the amount back to the connected account's. */
export function feeRefundMovement(fee: ApplicationFee, refund_id: string, amount: number, cause: Cause, now_s: number): ConnectMovement {
  return {
    platform: { merchant_id: fee.merchant_id, kind: 'application_fee_refund', source_id: refund_id, available_on: now_s },
    connected: { merchant_id: fee.account, kind: 'application_fee_refund', source_id: refund_id, available_on: now_s },
    amount,
    currency: fee.currency,
    payer: 'platform',
    // As Stripe does, a platform may refund a fee its balance cannot cover: it goes negative.
    floor_at_zero: false,
    cause,
    created: now_s,
  };
}

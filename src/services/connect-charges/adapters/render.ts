import type { ApplicationFee } from '../domain/destination-charge.js';
import type { FeeRefund } from '../domain/fee-refund.js';

/** Stripe-shaped objects, built field by field: the response is an allowlist. */
type Json = { id: string } & Record<string, unknown>;

export function renderApplicationFee(fee: ApplicationFee, refunds: { data: FeeRefund[]; has_more: boolean } = { data: [], has_more: false }): Json {
  return {
    id: fee.id,
    object: 'application_fee',
    account: fee.account,
    amount: fee.amount,
    amount_refunded: fee.amount_refunded,
    // Payrail has no Connect applications: the platform is the application that earned the fee.
    application: fee.merchant_id,
    // The fee never leaves the platform's balance (it is what the transfer held back): no transaction of its own.
    balance_transaction: null,
    charge: fee.charge,
    created: fee.created,
    currency: fee.currency,
    livemode: false,
    originating_transaction: null,
    refunded: fee.amount_refunded === fee.amount,
    refunds: { object: 'list', data: refunds.data.map(renderFeeRefund), has_more: refunds.has_more, url: `/v1/application_fees/${fee.id}/refunds` },
  };
}

export function renderFeeRefund(refund: FeeRefund): Json {
  return {
    id: refund.id,
    object: 'fee_refund',
    amount: refund.amount,
    balance_transaction: refund.balance_transaction,
    created: refund.created,
    currency: refund.currency,
    fee: refund.fee,
    metadata: refund.metadata,
  };
}

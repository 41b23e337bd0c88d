import type { Db, SqlFragment } from '../../../platform/db.js';
import { findCharge, updateCharge } from '../adapters/store.js';

/**
 * Payments' port for the disputes service: what a dispute needs of a charge, and the write that
 * marks the charge `disputed` (and `charged_back` while a chargeback holds its money, which refunds
 * refuse). Payments knows nothing of disputes beyond those flags; the disputes
 * service commits the write with its own, in one statement, so the charge is disputed exactly when
 * its dispute exists. The write is version-guarded: a refund racing it makes one of them retry.
 */
export interface DisputedCharge {
  id: string;
  merchant_id: string;
  /** Null for a legacy Charges API charge, whose intent is internal. */
  payment_intent: string | null;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  card_brand: string;
  disputed: boolean;
  /** A chargeback took the money back: refunding it too would pay the customer twice. */
  charged_back: boolean;
}

export async function chargeForDispute(
  reader: Db,
  merchant_id: string,
  charge_id: string,
): Promise<{ charge: DisputedCharge; mark_disputed: (charged_back: boolean) => SqlFragment } | undefined> {
  const charge = await findCharge(reader, merchant_id, charge_id);
  if (!charge) return undefined;
  return {
    charge: {
      id: charge.id,
      merchant_id: charge.merchant_id,
      payment_intent: charge.charges_api ? null : charge.payment_intent,
      amount_captured: charge.amount_captured,
      amount_refunded: charge.amount_refunded,
      currency: charge.currency,
      card_brand: charge.card.brand,
      disputed: charge.disputed === true,
      charged_back: charge.charged_back === true,
    },
    mark_disputed: (charged_back) => updateCharge({ ...charge, disputed: true, charged_back, version: charge.version + 1 }, charge.version),
  };
}

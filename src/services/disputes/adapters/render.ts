import { disputeBalanceTransactions } from '../../ledger/index.js';
import type { Dispute } from '../domain/dispute.js';
import { FILE_EVIDENCE_FIELDS, TEXT_EVIDENCE_FIELDS } from '../domain/dispute.js';

/** Stripe's `dispute` object (API 2023-08-16). */
export function renderDispute(dispute: Dispute, now_s: number): { id: string } & Record<string, unknown> {
  const evidence: Record<string, string | null> = {};
  for (const field of [...Object.keys(TEXT_EVIDENCE_FIELDS), ...FILE_EVIDENCE_FIELDS].sort())
    evidence[field] = dispute.evidence[field as keyof Dispute['evidence']] ?? null;
  return {
    id: dispute.id,
    object: 'dispute',
    amount: dispute.amount,
    balance_transactions: disputeBalanceTransactions(
      {
        merchant_id: dispute.merchant_id,
        id: dispute.id,
        amount: dispute.amount,
        currency: dispute.currency,
        created: dispute.created,
        withdrawn_at: dispute.funds_withdrawn_at,
        reinstated_at: dispute.funds_reinstated_at,
      },
      now_s,
    ),
    charge: dispute.charge,
    created: dispute.created,
    currency: dispute.currency,
    evidence,
    evidence_details: {
      due_by: dispute.due_by,
      has_evidence: Object.keys(dispute.evidence).length > 0,
      past_due: dispute.past_due,
      submission_count: dispute.submission_count,
    },
    is_charge_refundable: dispute.is_charge_refundable,
    livemode: false,
    metadata: dispute.metadata,
    payment_intent: dispute.payment_intent,
    payment_method_details: { card: { brand: dispute.card_brand, network_reason_code: null }, type: 'card' },
    reason: dispute.reason,
    status: dispute.status,
  };
}

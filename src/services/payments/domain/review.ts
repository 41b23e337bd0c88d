import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';

/**
 * A Radar review (Stripe's `review`): a payment a rule placed in review, held uncaptured until the
 * merchant approves it (which captures an automatic-capture payment) or cancels it (closed as
 * `refunded`, or `refunded_as_fraud` when canceled as fraudulent).
 */
export type ClosedReason = 'approved' | 'refunded' | 'refunded_as_fraud' | 'disputed' | 'redacted';

export interface Review {
  id: string;
  merchant_id: string;
  charge: string;
  payment_intent: string;
  open: boolean;
  opened_reason: 'rule' | 'manual';
  closed_reason: ClosedReason | null;
  /** The client's address when the payment was made, as Radar saw it. */
  ip_address: string | null;
  billing_zip: string | null;
  /** Opened on a legacy Charges API charge: its PaymentIntent is internal, so the review shows none. */
  charges_api?: true;
  created: number;
  version: number;
}

export function openedByRule(fields: Omit<Review, 'open' | 'opened_reason' | 'closed_reason' | 'version'>): Review {
  return { ...fields, open: true, opened_reason: 'rule', closed_reason: null, version: 1 };
}

/** Stripe's `reason`: why it is open (`rule`, `manual`) while it is, why it closed once it has. */
export function reasonOf(review: Review): string {
  return review.closed_reason ?? review.opened_reason;
}

/** Only an open review can be approved: approving a closed one is Stripe's invalid request. */
export function checkApprovable(review: Review): void {
  if (!review.open) {
    throw new PayrailError('review_unexpected_state', {
      message: `This review (${review.id}) is already closed (${review.closed_reason ?? 'closed'}); only an open review can be approved.`,
    });
  }
}

export function close(review: Review, reason: ClosedReason): Review {
  assert(review.open, `review ${review.id}: closing a closed review`);
  return { ...review, open: false, closed_reason: reason, version: review.version + 1 };
}

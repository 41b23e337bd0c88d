import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import type { BillingDetails, CardDetails } from '../../vault/index.js';
import type { MatchedRule } from '../../risk/index.js';
import type { FundsAvailability, RoutingTrace } from '../../connectors/index.js';
import type { Shipping } from './details.js';
import type { LegacyOrigin } from './intent.js';
import type { ChargeConversion } from './conversion.js';
import type { DestinationTerms, RefundShares } from './destination.js';

/** The card as the vault describes it, plus what the processor said of its CVC for this attempt. */
export type CardSnapshot = CardDetails & { cvc_check: 'pass' | 'fail' | 'unchecked' | null };

/** Stripe's `charge.outcome`. */
export interface Outcome {
  network_status: 'approved_by_network' | 'declined_by_network' | 'not_sent_to_network';
  reason: string | null;
  /** `unknown` when the risk evaluation failed (the payment then went to review). */
  risk_level: 'normal' | 'elevated' | 'highest' | 'unknown';
  /** Null when the risk evaluation failed: Stripe then leaves it out. */
  risk_score: number | null;
  /** The Radar rule that decided, if one did; absent on charges stored before rules existed. */
  rule?: MatchedRule | null;
  seller_message: string;
  type: 'authorized' | 'manual_review' | 'issuer_declined' | 'blocked';
}

/** One attempt to charge a card for an intent. */
export interface Charge extends DestinationTerms {
  id: string;
  merchant_id: string;
  payment_intent: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  status: 'succeeded' | 'pending' | 'failed';
  captured: boolean;
  customer: string | null;
  payment_method: string;
  card: CardSnapshot;
  outcome: Outcome;
  failure_code: string | null;
  failure_message: string | null;
  description: string | null;
  metadata: Record<string, string>;
  receipt_email: string | null;
  // Absent on charges stored before they existed; render reads them with their defaults.
  billing_details?: BillingDetails;
  shipping?: Shipping | null;
  statement_descriptor?: string | null;
  statement_descriptor_suffix?: string | null;
  fraud_details?: { user_report?: 'fraudulent' | 'safe' };
  /** Set by the disputes service (through app/disputed-charges.ts) when the charge is disputed. */
  disputed?: boolean;
  /** A chargeback holds the charge's money (the disputes service sets it): a refund would pay the customer twice. */
  charged_back?: boolean;
  /** The Radar review opened for it, if any (Stripe's `charge.review`). */
  review?: string | null;
  /** A charge made with the legacy Charges API: its intent is internal, so it shows none. */
  charges_api?: LegacyOrigin;
  /** The processor makes this charge's captured funds available at once: kept for the ledger, never rendered. */
  funds?: FundsAvailability;
  /** The quote a charge in another currency than the settlement one converts with: for the ledger, never rendered. */
  fx?: ChargeConversion;
  /** The router's tries for this attempt (connector accounts, latencies, codes), shown as `payrail_routing`. */
  routing?: RoutingTrace;
  created: number;
  version: number;
}

export function checkCharge(charge: Charge): Charge {
  assert(charge.amount_captured >= 0 && charge.amount_captured <= charge.amount, `charge ${charge.id}: amount_captured out of range`);
  assert(charge.amount_refunded >= 0 && charge.amount_refunded <= charge.amount_captured, `charge ${charge.id}: refunded more than captured`);
  assert(charge.captured || charge.amount_captured === 0, `charge ${charge.id}: uncaptured charge with captured amount`);
  assert(charge.status !== 'failed' || charge.amount_captured === 0, `charge ${charge.id}: failed charge with captured amount`);
  return charge;
}

export function captureCharge(charge: Charge, amount: number): Charge {
  assert(charge.status === 'succeeded' && !charge.captured, `charge ${charge.id}: only an authorized charge can be captured`);
  return { ...charge, captured: true, amount_captured: amount, version: charge.version + 1 };
}

export function refundable(charge: Charge): number {
  return charge.amount_captured - charge.amount_refunded;
}

/** Decides a refund's amount: the rest of the captured amount by default, never more. */
export function planRefund(charge: Charge, requested: number | undefined): number {
  if (charge.status !== 'succeeded' || !charge.captured) {
    throw new PayrailError('charge_not_captured', { message: `Charge ${charge.id} has no captured funds to refund.` });
  }
  const remaining = refundable(charge);
  if (remaining === 0) {
    throw new PayrailError('charge_already_refunded', { message: `Charge ${charge.id} has already been refunded.` });
  }
  const amount = requested ?? remaining;
  if (amount > remaining) {
    throw new PayrailError('amount_too_large', {
      param: 'amount',
      message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining}).`,
    });
  }
  if (amount <= 0) throw new PayrailError('parameter_invalid_integer', { param: 'amount', message: 'Refund amount must be positive.' });
  return amount;
}

export function applyRefund(charge: Charge, amount: number): Charge {
  return { ...charge, amount_refunded: charge.amount_refunded + amount, version: charge.version + 1 };
}

/** A refund that failed gives its amount back: it was taken from the charge when the refund was recorded. */
export function releaseRefund(charge: Charge, amount: number): Charge {
  assert(amount > 0 && amount <= charge.amount_refunded, `charge ${charge.id}: cannot give back ${amount} of ${charge.amount_refunded} refunded`);
  return { ...charge, amount_refunded: charge.amount_refunded - amount, version: charge.version + 1 };
}

export interface Refund {
  id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  status: 'succeeded' | 'failed' | 'pending';
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  failure_reason: string | null;
  metadata: Record<string, string>;
  created: number;
  /** A refund of a legacy Charges API charge: like its charge, it shows no PaymentIntent. */
  charges_api?: true;
  /** A destination charge's refund that takes back part of its transfer or application fee (connect-charges acts on it). */
  connect?: RefundShares;
}

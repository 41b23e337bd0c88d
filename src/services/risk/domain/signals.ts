/**
 * What the scorer is told about one payment attempt, and what it answers. Signals carry no card
 * number: the fingerprint, BIN and last four are enough to count and to recognise Stripe's test cards.
 */
export type CheckResult = 'pass' | 'fail' | 'unavailable' | 'unchecked';

export interface RiskSignals {
  merchant_id: string;
  livemode: boolean;
  /** Unix seconds of the attempt. */
  created: number;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  /** The amount in minor units of USD, so amounts in different currencies compare. */
  amount_in_usd: number;
  card_fingerprint: string;
  card_bin: string | null;
  card_last4: string;
  card_brand: string;
  card_country: string | null;
  card_funding: string | null;
  ip_address: string | null;
  email: string | null;
  customer_id: string | null;
  cvc_check: CheckResult | null;
  address_line1_check: CheckResult | null;
  address_postal_code_check: CheckResult | null;
}

export type RiskLevel = 'normal' | 'elevated' | 'highest';

export type AttributeValue = number | string | boolean | null;

export interface RiskScore {
  /** Integer 0..100. */
  score: number;
  level: RiskLevel;
  model_version: string;
  ip_country: string | null;
  /** Named values rules can test (velocity counts, first-seen, z-score …). */
  attributes: Record<string, AttributeValue>;
}

export type AttemptResult = 'authorized' | 'declined' | 'blocked';

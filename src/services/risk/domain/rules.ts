/**
 * Pure risk decisions: no I/O, sub-millisecond. Rules see only what a payment attempt carries (amount,
 * card fingerprint and brand), never a card number.
 */
export type RiskDecision = 'allow' | 'review' | 'block';

export interface RiskInput {
  amount: number;
  currency: string;
  card_fingerprint: string;
  card_last4: string;
}

export interface RiskRules {
  /** Attempts above this many minor units are blocked; undefined for no limit. */
  max_amount?: number;
  blocked_fingerprints: ReadonlySet<string>;
}

export interface RiskAssessment {
  decision: RiskDecision;
  score: number;
  risk_level: 'normal' | 'elevated' | 'highest';
  reasons: string[];
}

/** Stripe's test card that Radar always blocks ends in 0019 (4100000000000019). */
const ALWAYS_BLOCKED_TEST_LAST4 = '0019';
const ELEVATED_AMOUNT = 500_000;

export const DEFAULT_RULES: RiskRules = { blocked_fingerprints: new Set() };

export function assess(input: RiskInput, rules: RiskRules = DEFAULT_RULES): RiskAssessment {
  const reasons: string[] = [];
  if (input.card_last4 === ALWAYS_BLOCKED_TEST_LAST4) reasons.push('test_card_always_blocked');
  if (rules.blocked_fingerprints.has(input.card_fingerprint)) reasons.push('card_fingerprint_blocklisted');
  if (rules.max_amount !== undefined && input.amount > rules.max_amount) reasons.push('amount_above_limit');
  if (reasons.length > 0) return { decision: 'block', score: 85, risk_level: 'highest', reasons };
  if (input.amount >= ELEVATED_AMOUNT) return { decision: 'review', score: 60, risk_level: 'elevated', reasons: ['large_amount'] };
  return { decision: 'allow', score: Math.min(50, Math.floor(input.amount / 10_000)), risk_level: 'normal', reasons: [] };
}

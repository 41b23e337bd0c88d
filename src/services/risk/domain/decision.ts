/**
 * What a payment attempt's risk evaluation decides, from the score and the merchant's rules: allow,
 * block, place in review, or ask for 3-D Secure, with the charge outcome fields Stripe reports for it.
 * Pure: the scorer and the rules are called by the payments service, which hands their answers here
 * (or `null` when one failed, so the decision fails closed).
 */
export type RiskLevel = 'normal' | 'elevated' | 'highest';
export type RuleAction = 'allow' | 'block' | 'review' | 'request_credentials';

/** The rule that decided, as `charge.outcome.rule` expands to it (Stripe's `rule` object). */
export interface MatchedRule {
  id: string;
  action: RuleAction;
  predicate: string;
}

export interface RiskDecision {
  action: 'allow' | 'block' | 'review' | 'request_three_d_secure';
  /** 0–100; null when scoring failed (Stripe then omits it). */
  risk_score: number | null;
  /** `unknown` when scoring failed, as Stripe reports an evaluation error. */
  risk_level: RiskLevel | 'unknown';
  rule: MatchedRule | null;
  /** `charge.outcome.reason` for a risk decision: null when nothing in risk decided. */
  reason: 'highest_risk_level' | 'elevated_risk_level' | 'rule' | 'risk_evaluation_unavailable' | null;
}

/** Stripe's default rules: a match names the risk level as the reason instead of `rule`. */
export const DEFAULT_BLOCK_PREDICATE = ":risk_level: = 'highest'";
export const DEFAULT_REVIEW_PREDICATE = ":risk_level: = 'elevated'";

/**
 * Stripe's test cards in test mode, known by their BIN and last four digits, have the risk Stripe
 * documents: Radar's risk cards force their level and score, and 4100000000000019 is blocked whatever
 * the rules say; every other documented test card is `normal` risk (its model score kept below the
 * elevated band), so a test suite's many declines never turn Stripe's decline cards into blocks.
 */
export interface TestRiskCard {
  risk_level: RiskLevel;
  /** Null: the model's score, capped at the top of the normal band. */
  risk_score: number | null;
  always_blocked: boolean;
}

const TEST_RISK_CARDS: ReadonlyMap<string, TestRiskCard> = new Map([
  ['410000/0019', { risk_level: 'highest', risk_score: 95, always_blocked: true }],
  ['400000/4954', { risk_level: 'highest', risk_score: 89, always_blocked: false }],
  ['400000/9235', { risk_level: 'elevated', risk_score: 67, always_blocked: false }],
] satisfies Array<[string, TestRiskCard]>);

/** Stripe's other documented test card numbers (testing docs: brands, declines, 3-D Secure, disputes), as BIN/last4. */
const NORMAL_TEST_CARDS: ReadonlySet<string> = new Set([
  '424242/4242',
  '400005/5556',
  '555555/4444',
  '520082/8210',
  '378282/0005',
  '601111/1117',
  '305693/0004',
  '356600/0505',
  '620000/0005',
  '400000/0002',
  '400000/9995',
  '400000/9987',
  '400000/9979',
  '400000/0069',
  '400000/0127',
  '400000/0119',
  '400000/0341',
  '400000/3184',
  '400000/3220',
  '400000/3155',
  '400000/0446',
  '400000/0259',
  '400000/2685',
  '400000/1976',
]);

const NORMAL_TEST_CARD: TestRiskCard = { risk_level: 'normal', risk_score: null, always_blocked: false };

export function testRiskCard(livemode: boolean, card_bin: string | null, card_last4: string): TestRiskCard | null {
  if (livemode || card_bin === null) return null;
  const key = `${card_bin}/${card_last4}`;
  return TEST_RISK_CARDS.get(key) ?? (NORMAL_TEST_CARDS.has(key) ? NORMAL_TEST_CARD : null);
}

/** The top score of the normal band (Radar's elevated band starts at 65). */
export const NORMAL_SCORE_MAX = 64;

export interface Evaluation {
  /** The scorer's answer, or null when it failed (Redis down, a bug). */
  score: { score: number; level: RiskLevel } | null;
  /** The rules' answer, or null when they failed; `error` set when a rule threw. */
  verdict: { action: RuleAction | null; rule: MatchedRule | null; error?: string | undefined } | null;
  test_card: TestRiskCard | null;
}

/**
 * Stripe's order of precedence: a test card that is always blocked is blocked; a failed scorer or
 * failed rules never allow (a block rule still blocks; anything else goes to review); otherwise the
 * first matching rule acts, and no match allows.
 */
export function decide({ score, verdict, test_card }: Evaluation): RiskDecision {
  const risk_score = score?.score ?? null;
  const risk_level = score?.level ?? 'unknown';
  const rule = verdict?.rule ?? null;
  if (test_card?.always_blocked) return { action: 'block', risk_score, risk_level, rule: blockingRule(rule), reason: 'highest_risk_level' };
  if (verdict?.action === 'block') return { action: 'block', risk_score, risk_level, rule, reason: reasonOf(rule) };
  if (score === null || verdict === null || verdict.error !== undefined) {
    // The rule that could not be evaluated is named, so the merchant sees which one to fix.
    const failed_rule = verdict?.error !== undefined ? rule : null;
    return { action: 'review', risk_score, risk_level, rule: failed_rule, reason: 'risk_evaluation_unavailable' };
  }
  switch (verdict.action) {
    case 'review':
      return { action: 'review', risk_score, risk_level, rule, reason: reasonOf(rule) };
    case 'request_credentials':
      return { action: 'request_three_d_secure', risk_score, risk_level, rule, reason: 'rule' };
    case 'allow':
      return { action: 'allow', risk_score, risk_level, rule, reason: 'rule' };
    case null:
      return { action: 'allow', risk_score, risk_level, rule: null, reason: null };
  }
}

function blockingRule(rule: MatchedRule | null): MatchedRule | null {
  return rule?.action === 'block' ? rule : null;
}

function reasonOf(rule: MatchedRule | null): RiskDecision['reason'] {
  if (rule?.predicate === DEFAULT_BLOCK_PREDICATE && rule.action === 'block') return 'highest_risk_level';
  if (rule?.predicate === DEFAULT_REVIEW_PREDICATE && rule.action === 'review') return 'elevated_risk_level';
  return 'rule';
}

/** `charge.outcome.seller_message` for a payment risk stopped or held (Stripe's texts, naming Payrail). */
export function sellerMessage(decision: RiskDecision): string {
  if (decision.action === 'block') {
    return decision.reason === 'highest_risk_level' ? 'Payrail blocked this payment as too risky.' : 'Payrail blocked this payment because it matched a rule.';
  }
  if (decision.reason === 'elevated_risk_level') {
    return 'Payrail evaluated this payment as having elevated risk, and placed it in your manual review queue.';
  }
  if (decision.reason === 'risk_evaluation_unavailable') return 'Payrail could not evaluate this payment’s risk, and placed it in your manual review queue.';
  return 'Payrail placed this payment in your manual review queue because it matched a rule.';
}

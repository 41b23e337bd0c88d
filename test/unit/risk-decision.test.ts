import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Evaluation, MatchedRule } from '../../src/services/risk/index.js';
import { decide, sellerMessage, testRiskCard, usdCents } from '../../src/services/risk/index.js';

const DEFAULT_BLOCK: MatchedRule = { id: 'rule_default_block_highest_risk', action: 'block', predicate: ":risk_level: = 'highest'" };
const CUSTOM_REVIEW: MatchedRule = { id: 'rule_1', action: 'review', predicate: ':amount_in_usd: > 500' };
const ELEVATED_REVIEW: MatchedRule = { id: 'rule_2', action: 'review', predicate: ":risk_level: = 'elevated'" };
const NORMAL = { score: 12, level: 'normal' as const };

describe('the risk decision', () => {
  it('names Stripe’s reasons: the default rules by risk level, any other rule as rule', () => {
    expect(decide({ score: { score: 90, level: 'highest' }, verdict: { action: 'block', rule: DEFAULT_BLOCK }, test_card: null })).toMatchObject({
      action: 'block',
      reason: 'highest_risk_level',
      rule: DEFAULT_BLOCK,
    });
    expect(decide({ score: NORMAL, verdict: { action: 'review', rule: CUSTOM_REVIEW }, test_card: null }).reason).toBe('rule');
    expect(decide({ score: { score: 70, level: 'elevated' }, verdict: { action: 'review', rule: ELEVATED_REVIEW }, test_card: null }).reason).toBe(
      'elevated_risk_level',
    );
    expect(decide({ score: NORMAL, verdict: { action: null, rule: null }, test_card: null })).toEqual({
      action: 'allow',
      risk_score: 12,
      risk_level: 'normal',
      rule: null,
      reason: null,
    });
    const credentials: MatchedRule = { id: 'rule_3', action: 'request_credentials', predicate: ':amount_in_usd: > 400' };
    expect(decide({ score: NORMAL, verdict: { action: 'request_credentials', rule: credentials }, test_card: null }).action).toBe('request_three_d_secure');
  });

  it('blocks the always-blocked test card whatever the rules say', () => {
    const always = testRiskCard(false, '410000', '0019');
    const allow: MatchedRule = { id: 'rule_4', action: 'allow', predicate: ":card_brand: = 'visa'" };
    expect(decide({ score: NORMAL, verdict: { action: 'allow', rule: allow }, test_card: always })).toMatchObject({
      action: 'block',
      reason: 'highest_risk_level',
      rule: null,
    });
  });

  it('never allows when the scorer or the rules failed; a block rule still blocks', () => {
    const verdicts = fc.option(
      fc.record({
        action: fc.constantFrom('allow', 'block', 'review', 'request_credentials', null),
        rule: fc.constant<MatchedRule | null>(CUSTOM_REVIEW),
        error: fc.option(fc.string(), { nil: undefined }),
      }),
      { nil: null },
    );
    const scores = fc.option(fc.record({ score: fc.integer({ min: 0, max: 100 }), level: fc.constantFrom('normal', 'elevated', 'highest') }), { nil: null });
    fc.assert(
      fc.property(scores, verdicts, (score, verdict) => {
        const evaluation = { score, verdict, test_card: null } as Evaluation;
        const failed = score === null || verdict === null || verdict.error !== undefined;
        const decision = decide(evaluation);
        if (failed) expect(decision.action).toBe(verdict?.action === 'block' ? 'block' : 'review');
        if (score === null) expect(decision).toMatchObject({ risk_score: null, risk_level: 'unknown' });
      }),
    );
  });

  it('says why in the seller message', () => {
    const unavailable = decide({ score: null, verdict: { action: null, rule: null }, test_card: null });
    expect(unavailable.reason).toBe('risk_evaluation_unavailable');
    expect(sellerMessage(unavailable)).toContain('could not evaluate');
  });
});

describe('Stripe’s test cards', () => {
  it('force their documented levels in test mode only', () => {
    expect(testRiskCard(false, '400000', '4954')).toMatchObject({ risk_level: 'highest', always_blocked: false });
    expect(testRiskCard(false, '400000', '9235')).toMatchObject({ risk_level: 'elevated' });
    expect(testRiskCard(false, '424242', '4242')).toMatchObject({ risk_level: 'normal', risk_score: null });
    expect(testRiskCard(true, '410000', '0019')).toBeNull();
    expect(testRiskCard(false, '411111', '1111')).toBeNull();
  });
});

describe('amounts in USD', () => {
  it('passes USD through, converts reference currencies with their exponent, and knows no others', () => {
    expect(usdCents(2000, 'usd')).toBe(2000);
    expect(usdCents(10_000, 'eur')).toBe(10_800);
    expect(usdCents(1000, 'jpy')).toBe(670);
    expect(usdCents(1000, 'kwd')).toBeNull();
    expect(usdCents(99_999_999, 'gbp')).toBe(126_999_999);
  });
});

import { bench, describe } from 'vitest';
import { checkRule } from '../src/services/risk/domain/rule-check.js';
import type { CompiledRule } from '../src/services/risk/domain/rule-verdict.js';
import { decide, evaluationOrder } from '../src/services/risk/domain/rule-verdict.js';
import { listMatcher } from '../src/services/risk/domain/value-list-items.js';

/**
 * What a Radar verdict costs once a merchant's rules are compiled and cached (every payment after the
 * first): `decide` over ten typical rules and a 10,000-entry value list, none matching, so every rule
 * is evaluated. The baseline is the same ten conditions written by hand in TypeScript, measured in the
 * same run; vitest prints the ratio. Run: `npx vitest bench --run bench/radar-verdict.bench.ts`.
 */

const TEXTS = [
  'Request 3D Secure if :amount_in_usd: > 500',
  'Allow if :email: in @trusted',
  "Allow if :card_country: = 'US' AND :risk_level: = 'normal' AND :amount_in_usd: < 10",
  "Block if :risk_level: = 'highest'",
  'Block if :risk_score: > 75',
  "Block if :card_country: IN ('KP', 'IR', 'SY')",
  'Block if :declined_charges_per_card_number_hourly: > 3',
  "Block if :email: LIKE '%@mailinator.com'",
  'Review if :card_country: != :ip_country:',
  'Review if is_missing(:ip_country:) AND :amount_in_usd: > 200',
];

const rules: CompiledRule[] = evaluationOrder(
  TEXTS.map((text, position) => {
    const checked = checkRule(text);
    return { ref: { id: `rule_${position}`, action: checked.action, predicate: checked.predicate_text }, predicate: checked.predicate, position };
  }),
);
const trusted = Array.from({ length: 10_000 }, (_, i) => `buyer${i}@shop.test`);
const lists = new Map([['trusted', listMatcher('email', trusted)]]);
const trusted_set = new Set(trusted);

const attributes = {
  amount_in_usd: 42,
  email: 'someone@example.com',
  card_country: 'US',
  ip_country: 'US',
  risk_level: 'normal',
  risk_score: 20,
  declined_charges_per_card_number_hourly: 0,
};

/** The same rules by hand: what a verdict could cost at best. */
function handWritten(a: typeof attributes): string | null {
  if (a.amount_in_usd > 500) return 'rule_0';
  if (trusted_set.has(a.email.toLowerCase())) return 'rule_1';
  if (a.card_country.toLowerCase() === 'us' && a.risk_level === 'normal' && a.amount_in_usd < 10) return 'rule_2';
  if (a.risk_level === 'highest') return 'rule_3';
  if (a.risk_score > 75) return 'rule_4';
  if (['kp', 'ir', 'sy'].includes(a.card_country.toLowerCase())) return 'rule_5';
  if (a.declined_charges_per_card_number_hourly > 3) return 'rule_6';
  if (/^.*@mailinator\.com$/is.test(a.email)) return 'rule_7';
  if (a.card_country.toLowerCase() !== a.ip_country.toLowerCase()) return 'rule_8';
  return null;
}

if (decide(rules, attributes, lists).action !== null || handWritten(attributes) !== null) throw new Error('the bench payment must match no rule');

describe('a Radar verdict over ten rules, none matching', () => {
  bench('baseline: the conditions written by hand', () => {
    handWritten(attributes);
  });
  bench('Payrail: decide over the compiled rules', () => {
    decide(rules, attributes, lists);
  });
});

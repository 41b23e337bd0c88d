import { isIP } from 'node:net';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { checkRule } from '../../src/services/risk/domain/rule-check.js';
import type { CompiledRule } from '../../src/services/risk/domain/rule-verdict.js';
import { decide, evaluationOrder } from '../../src/services/risk/domain/rule-verdict.js';
import type { ListMatcher } from '../../src/services/risk/domain/value-list-items.js';
import { listMatcher } from '../../src/services/risk/domain/value-list-items.js';
import { canonicalIp, isIpAddress } from '../../src/services/risk/domain/ip-address.js';

function rules(...texts: string[]): CompiledRule[] {
  return texts.map((text, index) => {
    const checked = checkRule(text);
    return { ref: { id: `rule_${index}`, action: checked.action, predicate: checked.predicate_text }, predicate: checked.predicate, position: index };
  });
}

function verdict(compiled: CompiledRule[], attributes: Record<string, number | string | boolean | null>, lists = new Map<string, ListMatcher>()) {
  return decide(evaluationOrder(compiled), attributes, lists);
}

const risky = { risk_score: 90, risk_level: 'highest', amount_in_usd: 900, card_country: 'US', ip_country: 'FR', email: 'vip@shop.test' };

describe("Stripe's evaluation order", () => {
  test('Request 3D Secure, then Allow, then Block, then Review, whatever order they were written in', () => {
    const all = rules(
      'Review if :card_country: != :ip_country:',
      'Block if :risk_score: > 75',
      'Allow if :email: in @vip',
      'Request 3D Secure if :amount_in_usd: > 500',
    );
    const lists = new Map([['vip', listMatcher('email', ['vip@shop.test'])]]);
    expect(verdict(all, risky, lists)).toEqual({
      action: 'request_credentials',
      rule: { id: 'rule_3', action: 'request_credentials', predicate: ':amount_in_usd: > 500' },
    });
    expect(verdict(all, { ...risky, amount_in_usd: 10 }, lists).rule?.id).toBe('rule_2');
    expect(verdict(all, { ...risky, amount_in_usd: 10, email: 'x@y.test' }, lists).rule?.id).toBe('rule_1');
    expect(verdict(all, { ...risky, amount_in_usd: 10, email: 'x@y.test', risk_score: 10 }, lists).rule?.id).toBe('rule_0');
    expect(verdict(all, { ...risky, amount_in_usd: 10, email: 'x@y.test', risk_score: 10, ip_country: 'US' }, lists)).toEqual({ action: null, rule: null });
  });

  test('within an action, the merchant order decides which rule is named', () => {
    const both = rules('Block if :risk_score: > 50', 'Block if :risk_score: > 75');
    expect(verdict(both, risky).rule?.id).toBe('rule_0');
    expect(verdict([both[1]!, { ...both[0]!, position: 5 }], risky).rule?.id).toBe('rule_1');
  });
});

describe('fail closed', () => {
  test('a rule that throws gives review with the error, never allow', () => {
    const all = rules('Allow if :email: in @missing_list', 'Allow if :risk_score: < 100');
    const result = verdict(all, risky);
    expect(result.action).toBe('review');
    expect(result.rule?.id).toBe('rule_0');
    expect(result.error).toContain('no value list has the alias @missing_list');
  });

  test('an unknown attribute at run time and a value of the wrong type fail closed too', () => {
    const unknown = verdict(rules('Block if :risk_score: > 75'), { amount_in_usd: 1 });
    expect(unknown.action).toBe('review');
    expect(unknown.error).toContain('no attribute :risk_score:');
    const mistyped = verdict(rules('Block if :risk_score: > 75'), { risk_score: 'high' });
    expect(mistyped.action).toBe('review');
    expect(mistyped.error).toContain('cannot compare');
    expect(verdict(rules('Review if :is_off_session: = true'), { is_off_session: 'yes' })).toMatchObject({ action: 'review' });
  });

  test('after a failure a matching block rule still blocks', () => {
    const all = rules('Allow if :email: in @missing_list', 'Block if :risk_score: > 75', 'Review if :risk_score: > 0');
    expect(verdict(all, risky)).toEqual({ action: 'block', rule: { id: 'rule_1', action: 'block', predicate: ':risk_score: > 75' } });
  });

  test('a stored rule the language no longer reads fails closed at every payment', () => {
    const broken: CompiledRule = {
      ref: { id: 'rule_old', action: 'allow', predicate: ':gone: = 1' },
      predicate: null,
      broken: 'unknown attribute :gone:',
      position: -1,
    };
    expect(verdict([broken, ...rules('Allow if :risk_score: < 100')], risky)).toMatchObject({ action: 'review', rule: { id: 'rule_old' } });
  });

  test('a missing value is no match and no error', () => {
    expect(verdict(rules("Block if :card_country: != 'US'"), { card_country: null })).toEqual({ action: null, rule: null });
  });
});

describe('IP addresses in value lists', () => {
  test.each([
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['192.168.0.1', '192.168.0.1'],
  ])('%s is %s', (given, canonical) => {
    expect(isIpAddress(given)).toBe(true);
    expect(canonicalIp(given)).toBe(canonical);
  });

  test.each(['256.1.1.1', '1.2.3', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':::', 'g::1', '1:2:3:4:5:6:7::8', ''])(
    '%s is not an address',
    (text) => {
      expect(isIpAddress(text)).toBe(false);
    },
  );

  test("agrees with Node's own parser on generated addresses", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (text) => {
        expect(isIpAddress(text)).toBe(isIP(text) !== 0);
        if (isIP(text) === 6) expect(canonicalIp(text)).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 2_000 },
    );
  });

  test('a list matches an address however it is spelled', () => {
    const list = listMatcher('ip_address', ['2001:DB8::0:1']);
    expect(list.has('2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(list.has('2001:db8::2')).toBe(false);
  });
});

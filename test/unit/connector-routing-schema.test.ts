import { describe, expect, it } from 'vitest';
import { parseRouting } from '../../src/services/connectors/adapters/routing-schema.js';
import { PayrailError } from '../../src/kernel/errors.js';

/** Routing rules as an operator sends them: each refusal names its param, as Stripe's errors do. */

const fallback = { type: 'priority', accounts: ['mca_a'] };

function refusal(body: unknown): { code: string; param: string | undefined } {
  try {
    parseRouting(body);
  } catch (error) {
    if (error instanceof PayrailError) return { code: error.code, param: error.param };
    throw error;
  }
  throw new Error('accepted');
}

describe('parseRouting', () => {
  it('accepts JSON and form-shaped lists alike, normalizing codes', () => {
    const parsed = parseRouting({
      rules: {
        0: {
          name: 'eu',
          conditions: { card_country: { 0: 'de' }, currency: ['EUR'], amount: { gte: '100' } },
          action: { type: 'priority', accounts: { 0: 'mca_b' } },
        },
      },
      default: fallback,
      expected_version: '3',
    });
    expect(parsed).toEqual({
      rules: {
        rules: [
          { name: 'eu', conditions: { card_country: ['DE'], currency: ['eur'], amount: { gte: 100 } }, action: { type: 'priority', accounts: ['mca_b'] } },
        ],
        default: fallback,
      },
      expected_version: 3,
    });
    expect(parseRouting({ default: fallback }).rules.rules).toEqual([]);
  });

  it('refuses what cannot route, naming the param', () => {
    const rule = (overrides: Record<string, unknown>) => ({ rules: [{ name: 'r', action: fallback, ...overrides }], default: fallback });
    expect(refusal({ rules: [] })).toEqual({ code: 'parameter_missing', param: 'default' });
    expect(refusal({ default: { type: 'weighted', accounts: ['mca_a'] } })).toEqual({ code: 'parameter_invalid', param: 'default[type]' });
    expect(refusal({ default: { type: 'priority', accounts: [] } })).toEqual({ code: 'parameter_invalid', param: 'default[accounts]' });
    expect(refusal({ default: { type: 'priority', accounts: ['acct_1'] } })).toEqual({ code: 'parameter_invalid', param: 'default[accounts][0]' });
    expect(refusal({ default: { type: 'priority', accounts: ['mca_a', 'mca_a'] } })).toEqual({ code: 'parameter_invalid', param: 'default' });
    const split = {
      type: 'split',
      splits: [
        { account: 'mca_a', weight: 50 },
        { account: 'mca_b', weight: 49 },
      ],
    };
    expect(refusal(rule({ action: split }))).toEqual({ code: 'parameter_invalid', param: 'rules[0][action][splits]' });
    expect(refusal(rule({ action: { ...split, splits: [{ account: 'mca_a', weight: 101 }] } }))).toEqual({
      code: 'parameter_invalid_integer',
      param: 'rules[0][action][splits][0][weight]',
    });
    expect(refusal(rule({ conditions: { amount: { gte: 100 } } }))).toEqual({ code: 'parameter_invalid', param: 'rules[0][conditions][amount]' });
    expect(refusal(rule({ conditions: { currency: ['usd', 'eur'], amount: { gte: 100 } } }))).toEqual({
      code: 'parameter_invalid',
      param: 'rules[0][conditions][amount]',
    });
    expect(refusal(rule({ conditions: { currency: ['usd'], amount: { gte: 200, lte: 100 } } }))).toEqual({
      code: 'parameter_invalid',
      param: 'rules[0][conditions][amount]',
    });
    expect(refusal(rule({ conditions: { bin_prefix: ['4242424'] } }))).toEqual({ code: 'parameter_invalid', param: 'rules[0][conditions][bin_prefix][0]' });
    expect(refusal(rule({ conditions: { card_country: ['Germany'] } }))).toEqual({ code: 'parameter_invalid', param: 'rules[0][conditions][card_country][0]' });
    expect(refusal(rule({ conditions: { card_brand: ['visa electron'] } }))).toEqual({
      code: 'parameter_invalid',
      param: 'rules[0][conditions][card_brand][0]',
    });
    expect(refusal(rule({ conditions: { currency: ['xyz'] } }))).toEqual({ code: 'currency_invalid', param: 'rules[0][conditions][currency][0]' });
    expect(refusal(rule({ conditions: { colour: ['red'] } }))).toEqual({ code: 'parameter_unknown', param: 'rules[0][conditions][colour]' });
    expect(refusal(rule({ name: 'has space' }))).toEqual({ code: 'parameter_invalid', param: 'rules[0][name]' });
    expect(
      refusal({
        rules: [
          { name: 'r', action: fallback },
          { name: 'r', action: fallback },
        ],
        default: fallback,
      }),
    ).toEqual({
      code: 'parameter_invalid',
      param: 'rules[1][name]',
    });
    const many = Array.from({ length: 51 }, (_, i) => ({ name: `r${i}`, action: fallback }));
    expect(refusal({ rules: many, default: fallback })).toEqual({ code: 'parameter_invalid', param: 'rules' });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HealthView, RoutableAccount, RoutingConfig } from '../../src/services/connectors/domain/routing.js';
import { ALL_HEALTHY, SANDBOX_ACCOUNT_ID, chooseRoute, splitBucket } from '../../src/services/connectors/domain/routing.js';
import type { RoutedPayment, RoutingAction, RoutingRule } from '../../src/services/connectors/domain/routing-rules.js';
import { describeConditions, ruleMatches } from '../../src/services/connectors/domain/routing-rules.js';

/** Pure routing: which accounts a payment tries, in what order, and why. */

const accounts: RoutableAccount[] = [
  { id: 'mca_adyen_eu', label: 'adyen-eu', enabled: true },
  { id: 'mca_stripe_us', label: 'stripe-us', enabled: true },
  { id: 'mca_sandbox', label: 'sandbox-1', enabled: true },
  { id: 'mca_off', label: 'retired', enabled: false },
];

function payment(overrides: Partial<RoutedPayment> & { brand?: string; country?: string | null; metadata?: Record<string, string> } = {}): RoutedPayment {
  const { brand = 'visa', country = 'US', metadata = {}, ...rest } = overrides;
  return { amount: 2000, currency: 'usd', bin: '424242', attempt_id: 'ch_1', facts: { brand, country, metadata }, ...rest };
}

function config(rules: RoutingRule[], fallback: RoutingAction = { type: 'priority', accounts: ['mca_sandbox'] }): RoutingConfig {
  return { rules: { rules, default: fallback }, version: 1, accounts };
}

const ids = (route: { candidates: { account_id: string }[] }) => route.candidates.map((candidate) => candidate.account_id);

describe('chooseRoute', () => {
  it('routes a merchant without rules to the built-in sandbox', () => {
    const route = chooseRoute({ rules: null, version: 0, accounts }, payment(), ALL_HEALTHY);
    expect(route.candidates).toEqual([{ account_id: SANDBOX_ACCOUNT_ID, reason: 'no routing rules: the built-in sandbox' }]);
  });

  it('takes the first matching rule, then the default as fallback, and says why', () => {
    const rules: RoutingRule[] = [
      { name: 'eu-cards', conditions: { card_country: ['DE', 'FR'] }, action: { type: 'priority', accounts: ['mca_adyen_eu', 'mca_stripe_us'] } },
      { name: 'all', conditions: {}, action: { type: 'priority', accounts: ['mca_stripe_us'] } },
    ];
    const route = chooseRoute(config(rules), payment({ country: 'DE' }), ALL_HEALTHY);
    expect(route.candidates).toEqual([
      { account_id: 'mca_adyen_eu', reason: "rule 'eu-cards' (card country in [DE,FR]) → adyen-eu (priority 1)" },
      { account_id: 'mca_stripe_us', reason: "rule 'eu-cards' (card country in [DE,FR]) → stripe-us (priority 2)" },
      { account_id: 'mca_sandbox', reason: "default, after rule 'eu-cards' → sandbox-1 (priority 1)" },
    ]);
    expect(ids(chooseRoute(config(rules), payment({ country: 'US' }), ALL_HEALTHY))).toEqual(['mca_stripe_us', 'mca_sandbox']);
  });

  it('goes to the default when no rule matches, and a card of unknown country matches no country rule', () => {
    const rules: RoutingRule[] = [{ name: 'eu', conditions: { card_country: ['DE'] }, action: { type: 'priority', accounts: ['mca_adyen_eu'] } }];
    const route = chooseRoute(config(rules), payment({ country: null }), ALL_HEALTHY);
    expect(route.candidates).toEqual([{ account_id: 'mca_sandbox', reason: 'default (no rule matched) → sandbox-1 (priority 1)' }]);
  });

  it('leaves disabled and missing accounts out, saying so', () => {
    const rules: RoutingRule[] = [{ name: 'r', conditions: {}, action: { type: 'priority', accounts: ['mca_off', 'mca_gone', 'mca_stripe_us'] } }];
    const route = chooseRoute(config(rules), payment(), ALL_HEALTHY);
    expect(ids(route)).toEqual(['mca_stripe_us', 'mca_sandbox']);
    expect(route.skipped.map((s) => [s.account_id, s.reason.split('; ')[1]])).toEqual([
      ['mca_off', 'skipped: disabled'],
      ['mca_gone', 'skipped: no such account'],
    ]);
  });

  it('moves unavailable accounts last, keeping them as a last resort, with the health in the reason', () => {
    const health: HealthView = { isAvailable: (id) => id !== 'mca_adyen_eu', successRate: (id) => (id === 'mca_adyen_eu' ? 0.42 : null) };
    const rules: RoutingRule[] = [{ name: 'r', conditions: {}, action: { type: 'priority', accounts: ['mca_adyen_eu', 'mca_stripe_us'] } }];
    const route = chooseRoute(config(rules), payment(), health);
    expect(ids(route)).toEqual(['mca_stripe_us', 'mca_sandbox', 'mca_adyen_eu']);
    expect(route.candidates[2]?.reason).toMatch(/moved last: unavailable \(success rate 42%\)$/);
    const open: HealthView = { isAvailable: () => false, successRate: () => null };
    expect(chooseRoute(config(rules), payment(), open).candidates[0]?.reason).toMatch(/moved last: unavailable \(circuit open\)$/);
  });

  it('names each account once, at its first place', () => {
    const rules: RoutingRule[] = [{ name: 'r', conditions: {}, action: { type: 'priority', accounts: ['mca_sandbox', 'mca_stripe_us'] } }];
    expect(ids(chooseRoute(config(rules, { type: 'priority', accounts: ['mca_stripe_us', 'mca_sandbox'] }), payment(), ALL_HEALTHY))).toEqual([
      'mca_sandbox',
      'mca_stripe_us',
    ]);
  });

  it('splits by the attempt id: the chosen share first, the others after by weight', () => {
    const split: RoutingAction = {
      type: 'split',
      splits: [
        { account: 'mca_adyen_eu', weight: 70 },
        { account: 'mca_stripe_us', weight: 20 },
        { account: 'mca_sandbox', weight: 10 },
      ],
    };
    const rules: RoutingRule[] = [{ name: 'ab', conditions: { currency: ['eur'] }, action: split }];
    const attempt = (bucket: number) => {
      for (let i = 0; ; i++) if (splitBucket(`ch_${i}`) === bucket) return `ch_${i}`;
    };
    const low = chooseRoute(config(rules), payment({ currency: 'eur', attempt_id: attempt(69) }), ALL_HEALTHY);
    expect(ids(low)).toEqual(['mca_adyen_eu', 'mca_stripe_us', 'mca_sandbox']);
    expect(low.candidates[0]?.reason).toBe("rule 'ab' (currency in [eur]) → adyen-eu (split 70%, bucket 69)");
    expect(low.candidates[1]?.reason).toBe("rule 'ab' (currency in [eur]) → stripe-us (split fallback, 20%)");
    expect(ids(chooseRoute(config(rules), payment({ currency: 'eur', attempt_id: attempt(70) }), ALL_HEALTHY))).toEqual([
      'mca_stripe_us',
      'mca_adyen_eu',
      'mca_sandbox',
    ]);
    expect(ids(chooseRoute(config(rules), payment({ currency: 'eur', attempt_id: attempt(90) }), ALL_HEALTHY))[0]).toBe('mca_sandbox');
  });
});

describe('rule conditions', () => {
  it('hold only when every present condition holds', () => {
    const conditions = { currency: ['eur'], amount: { gte: 1000, lte: 5000 }, card_brand: ['visa'], bin_prefix: ['4242'], metadata: { tier: 'gold' } };
    const base = payment({ currency: 'eur', amount: 1000, metadata: { tier: 'gold', other: 'x' } });
    expect(ruleMatches(conditions, base)).toBe(true);
    expect(ruleMatches(conditions, { ...base, amount: 5000 })).toBe(true);
    expect(ruleMatches(conditions, { ...base, amount: 999 })).toBe(false);
    expect(ruleMatches(conditions, { ...base, amount: 5001 })).toBe(false);
    expect(ruleMatches(conditions, { ...base, currency: 'usd' })).toBe(false);
    expect(ruleMatches(conditions, { ...base, bin: '555555' })).toBe(false);
    expect(ruleMatches(conditions, payment({ currency: 'eur', brand: 'mastercard', metadata: { tier: 'gold' } }))).toBe(false);
    expect(ruleMatches(conditions, payment({ currency: 'eur', metadata: { tier: 'silver' } }))).toBe(false);
    expect(ruleMatches({}, base)).toBe(true);
  });

  it('are described in words', () => {
    expect(describeConditions({ currency: ['eur'], amount: { gte: 1000 }, bin_prefix: ['4000'], metadata: { tier: 'gold' } })).toBe(
      'currency in [eur], amount ≥ 1000, BIN starts with [4000], metadata[tier] = gold',
    );
    expect(describeConditions({})).toBe('every payment');
  });
});

describe('chooseRoute properties', () => {
  const weights = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 5 }).filter((w) => w.reduce((a, b) => a + b, 0) > 0);
  const toHundred = (raw: number[]): number[] => {
    const total = raw.reduce((a, b) => a + b, 0);
    const scaled = raw.map((w) => Math.floor((w * 100) / total));
    scaled[0] = (scaled[0] ?? 0) + 100 - scaled.reduce((a, b) => a + b, 0);
    return scaled;
  };
  const splitConfig = (shares: number[]): RoutingConfig => ({
    rules: { rules: [], default: { type: 'split', splits: shares.map((weight, i) => ({ account: `mca_${i}`, weight })) } },
    version: 1,
    accounts: shares.map((_, i) => ({ id: `mca_${i}`, label: `a${i}`, enabled: true })),
  });

  it("a split's observed shares over many attempt ids approach its weights", () => {
    fc.assert(
      fc.property(weights, fc.string({ maxLength: 8 }), (raw, salt) => {
        const shares = toHundred(raw);
        const counts = new Array<number>(shares.length).fill(0);
        const n = 4000;
        for (let i = 0; i < n; i++) {
          const first = chooseRoute(splitConfig(shares), payment({ attempt_id: `ch_${salt}_${i}` }), ALL_HEALTHY).candidates[0]!;
          counts[Number(first.account_id.slice(4))]! += 1;
        }
        // Binomial: five standard deviations of 4000 draws is under 4 points of share.
        shares.forEach((weight, i) => expect(Math.abs((counts[i]! / n) * 100 - weight)).toBeLessThan(4));
      }),
      { numRuns: 25 },
    );
  });

  const account = fc.constantFrom('mca_a', 'mca_b', 'mca_c', 'mca_d');
  const action: fc.Arbitrary<RoutingAction> = fc.oneof(
    fc.record({ type: fc.constant('priority' as const), accounts: fc.uniqueArray(account, { minLength: 1, maxLength: 4 }) }),
    fc.uniqueArray(account, { minLength: 1, maxLength: 4 }).map((list) => ({
      type: 'split' as const,
      splits: list.map((id, i) => ({ account: id, weight: i === 0 ? 100 - 10 * (list.length - 1) : 10 })),
    })),
  );
  const rule: fc.Arbitrary<RoutingRule> = fc.record({
    name: fc.constantFrom('r1', 'r2', 'r3'),
    conditions: fc.record(
      { currency: fc.constant(['usd']), card_country: fc.constant(['DE']), amount: fc.record({ gte: fc.integer({ min: 0, max: 5000 }) }) },
      { requiredKeys: [] },
    ),
    action,
  });
  const anyPayment = fc.record({
    amount: fc.integer({ min: 0, max: 10_000 }),
    currency: fc.constantFrom('usd', 'eur'),
    country: fc.constantFrom('DE', 'US', null),
    attempt_id: fc.string({ minLength: 1, maxLength: 30 }),
  });
  const enabledAccounts = fc.subarray(['mca_a', 'mca_b', 'mca_c', 'mca_d'], { minLength: 1 });

  it('always yields a candidate when the default names an enabled account, and each account once', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 6 }), action, anyPayment, enabledAccounts, (rules, fallback, p, enabled) => {
        const all = ['mca_a', 'mca_b', 'mca_c', 'mca_d'].map((id) => ({ id, label: id, enabled: enabled.includes(id) }));
        fc.pre(fallback.type === 'priority' ? fallback.accounts.some((id) => enabled.includes(id)) : fallback.splits.some((s) => enabled.includes(s.account)));
        const route = chooseRoute({ rules: { rules, default: fallback }, version: 1, accounts: all }, payment(p), ALL_HEALTHY);
        expect(route.candidates.length).toBeGreaterThanOrEqual(1);
        expect(new Set(ids(route)).size).toBe(route.candidates.length);
        expect(ids(route).every((id) => enabled.includes(id))).toBe(true);
      }),
    );
  });

  it('is deterministic: the same payment routes the same way', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 6 }), action, anyPayment, (rules, fallback, p) => {
        const all = ['mca_a', 'mca_b', 'mca_c', 'mca_d'].map((id) => ({ id, label: id, enabled: true }));
        const routed = () => chooseRoute({ rules: { rules, default: fallback }, version: 1, accounts: all }, payment(p), ALL_HEALTHY);
        expect(routed()).toEqual(routed());
      }),
    );
  });
});

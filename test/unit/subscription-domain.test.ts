import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PayrailError } from '../../src/kernel/errors.js';
import type { ItemPrice, SubscriptionItem, SubscriptionStatus } from '../../src/services/billing/domain/subscription.js';
import * as Sub from '../../src/services/billing/domain/subscription.js';
import { checkTrialEnd, firstAmount, planStart } from '../../src/services/billing/domain/subscription-start.js';
import { applyItemChanges, prorations } from '../../src/services/billing/domain/subscription-items.js';

/** The subscription's pure rules: its status machine, the first period, item changes and what they prorate. */

const at = (iso: string): number => Date.parse(iso) / 1000;
const monthly = { interval: 'month', interval_count: 1 } as const;

function price(id: string, overrides: Partial<ItemPrice> = {}): ItemPrice {
  return { id, product: 'prod_1', currency: 'usd', recurring: monthly, ...overrides };
}

function item(id: string, price_id: string, quantity = 1): SubscriptionItem {
  return { id, price: price_id, quantity, metadata: {}, created: 0 };
}

function codeOf(run: () => unknown): { code: string; param: string | undefined } {
  try {
    run();
  } catch (error) {
    if (error instanceof PayrailError) return { code: error.code, param: error.param };
    throw error;
  }
  throw new Error('expected a PayrailError');
}

describe('status machine', () => {
  it('moves as Stripe’s subscriptions do, and never out of an ended status', () => {
    expect(Sub.statusAfterPaid('incomplete')).toBe('active');
    expect(Sub.statusAfterPaid('past_due')).toBe('active');
    expect(Sub.statusAfterPaid('unpaid')).toBe('active');
    expect(Sub.statusAfterPaid('trialing')).toBe('trialing');
    expect(Sub.statusAfterPaymentFailed('active', false)).toBe('past_due');
    expect(Sub.statusAfterPaymentFailed('incomplete', true)).toBe('incomplete');
    expect(Sub.canMove('incomplete', 'canceled')).toBe(false);
    fc.assert(
      fc.property(fc.constantFrom<SubscriptionStatus>(...Sub.SUBSCRIPTION_STATUSES), (to) => {
        expect(Sub.canMove('canceled', to)).toBe(to === 'canceled');
        expect(Sub.canMove('incomplete_expired', to)).toBe(to === 'incomplete_expired');
      }),
    );
  });
});

describe('items', () => {
  it('refuses a one-time price, another currency, another interval and a repeated price, naming the item', () => {
    expect(codeOf(() => Sub.checkItemPrices([price('a'), price('b', { recurring: null })], 'items'))).toEqual({
      code: 'parameter_invalid',
      param: 'items[1][price]',
    });
    expect(codeOf(() => Sub.checkItemPrices([price('a'), price('b', { currency: 'eur' })], 'items'))).toEqual({
      code: 'parameter_invalid',
      param: 'items[1][price]',
    });
    expect(codeOf(() => Sub.checkItemPrices([price('a'), price('b', { recurring: { interval: 'year', interval_count: 1 } })], 'items'))).toEqual({
      code: 'parameter_invalid',
      param: 'items[1][price]',
    });
    expect(codeOf(() => Sub.checkItemPrices([price('a'), price('a')], 'items'))).toEqual({ code: 'parameter_invalid', param: 'items[1][price]' });
    expect(Sub.checkItemPrices([price('a'), price('b')], 'items')).toEqual({ currency: 'usd', recurrence: monthly });
  });

  it('applies Stripe’s item changes: by id, deleted, or new by price', () => {
    let next = 0;
    const changes = applyItemChanges(
      [item('si_1', 'price_a'), item('si_2', 'price_b', 2)],
      [{ id: 'si_1', quantity: 3 }, { id: 'si_2', deleted: true }, { price: 'price_c' }],
      () => `si_new${++next}`,
      100,
    );
    expect(changes.items.map((i) => [i.id, i.price, i.quantity])).toEqual([
      ['si_1', 'price_a', 3],
      ['si_new1', 'price_c', 1],
    ]);
    expect(changes.removed.map((i) => i.id)).toEqual(['si_2']);
    expect(changes.new_prices).toEqual([{ price: 'price_c', param: 'items[2][price]' }]);
    expect(codeOf(() => applyItemChanges([item('si_1', 'a')], [{ id: 'si_1', deleted: true }], () => 'x', 0))).toEqual({
      code: 'parameter_invalid',
      param: 'items',
    });
    expect(codeOf(() => applyItemChanges([item('si_1', 'a')], [{ id: 'si_9', quantity: 2 }], () => 'x', 0))).toEqual({
      code: 'resource_missing',
      param: 'items[0][id]',
    });
  });

  it('prorates only what changed, and a change’s lines net to the difference over the rest of the period', () => {
    const period = { start: 0, end: 30 * 86_400 };
    const amount = (i: SubscriptionItem) => (i.price === 'a' ? 1000 : 400) * i.quantity;
    const before = [item('si_1', 'a'), item('si_2', 'b')];
    const after = [item('si_1', 'a', 4), item('si_2', 'b')];
    const lines = prorations(before, after, amount, period, 20 * 86_400);
    expect(lines.map((l) => [l.item.id, l.amount, l.kind])).toEqual([
      ['si_1', -333, 'unused_time'],
      ['si_1', 1333, 'remaining_time'],
    ]);
    // Removing everything credits all of it; nothing changed prorates nothing.
    expect(prorations(before, [], amount, period, 0).reduce((s, l) => s + l.amount, 0)).toBe(-1400);
    expect(prorations(before, before, amount, period, 10)).toEqual([]);
  });
});

describe('first period', () => {
  const now = at('2024-01-31T12:00:00Z');

  it('bills a whole period from now, or a trial free, anchored at its end', () => {
    expect(planStart({ now_s: now, recurrence: monthly, trial_end: null, billing_cycle_anchor: null, prorate: true })).toEqual({
      billing_cycle_anchor: now,
      period: { start: now, end: at('2024-02-29T12:00:00Z') },
      trial: null,
      billing: 'whole',
    });
    const trial_end = now + 7 * 86_400;
    const trial = planStart({ now_s: now, recurrence: monthly, trial_end, billing_cycle_anchor: null, prorate: true });
    expect(trial).toMatchObject({ billing_cycle_anchor: trial_end, period: { start: now, end: trial_end }, billing: 'free' });
    expect(firstAmount(trial, monthly, 5000)).toBe(0);
  });

  it('prorates the short period before a future anchor, and refuses one past the next natural billing date', () => {
    const anchor = at('2024-02-15T12:00:00Z');
    const start = planStart({ now_s: now, recurrence: monthly, trial_end: null, billing_cycle_anchor: anchor, prorate: true });
    expect(start).toMatchObject({ billing_cycle_anchor: anchor, period: { start: now, end: anchor }, billing: 'prorated' });
    // The whole period ending at the anchor runs from 15 January (31 days); 15 of them are billed.
    expect(firstAmount(start, monthly, 3100)).toBe(1500);
    const free = planStart({ now_s: now, recurrence: monthly, trial_end: null, billing_cycle_anchor: anchor, prorate: false });
    expect(firstAmount(free, monthly, 3100)).toBe(0);
    expect(
      codeOf(() => planStart({ now_s: now, recurrence: monthly, trial_end: null, billing_cycle_anchor: at('2024-03-01T00:00:00Z'), prorate: true })),
    ).toEqual({
      code: 'parameter_invalid',
      param: 'billing_cycle_anchor',
    });
  });

  it('refuses a trial end in the past or more than 730 days ahead', () => {
    expect(codeOf(() => checkTrialEnd(now - 1, now, 'trial_end'))).toEqual({ code: 'parameter_invalid', param: 'trial_end' });
    expect(codeOf(() => checkTrialEnd(now, now, 'trial_end'))).toEqual({ code: 'parameter_invalid', param: 'trial_end' });
    expect(codeOf(() => checkTrialEnd(now + 731 * 86_400, now, 'trial_end'))).toEqual({ code: 'parameter_invalid', param: 'trial_end' });
    expect(checkTrialEnd(now + 730 * 86_400, now, 'trial_end')).toBe(now + 730 * 86_400);
  });
});

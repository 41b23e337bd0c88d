import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Price, PriceTier } from '../../src/services/billing/domain/price.js';
import { checkInterval, checkTiers, priceAmount } from '../../src/services/billing/domain/price.js';
import { draftPrice } from '../../src/services/billing/domain/price-draft.js';
import { PayrailError } from '../../src/kernel/errors.js';

/** priceAmount against unit-by-unit reference walks of Stripe's tier rules, and the rules a price's parameters keep. */

const KNOWN = { id: 'price_test', merchant_id: 'acct_test', product: 'prod_test', created: 1_700_000_000 };

function tieredPrice(tiers_mode: 'graduated' | 'volume', tiers: PriceTier[]): Price {
  return draftPrice(
    {
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode,
      tiers: tiers.map((tier) => ({ up_to: tier.up_to ?? 'inf', unit_amount: tier.unit_amount ?? undefined, flat_amount: tier.flat_amount ?? undefined })),
    },
    KNOWN,
  );
}

/** Ascending bounds, the last unbounded; each tier with a unit amount, a flat amount or both. */
const tiersArbitrary = fc
  .array(
    fc.record({
      width: fc.integer({ min: 1, max: 20 }),
      unit_amount: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
      flat_amount: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((raw) => {
    let bound = 0;
    return raw.map((tier, index): PriceTier => {
      bound += tier.width;
      const unit_amount = tier.unit_amount ?? (tier.flat_amount === null ? 0 : null);
      return { up_to: index === raw.length - 1 ? null : bound, unit_amount, flat_amount: tier.flat_amount };
    });
  });

/** The tier unit number `unit` (1-based) falls in. */
function tierOf(tiers: PriceTier[], unit: number): number {
  return tiers.findIndex((tier) => tier.up_to === null || unit <= tier.up_to);
}

function graduatedReference(tiers: PriceTier[], quantity: number): number {
  let total = 0;
  const reached = new Set<number>();
  for (let unit = 1; unit <= quantity; unit++) {
    const index = tierOf(tiers, unit);
    total += tiers[index]!.unit_amount ?? 0;
    reached.add(index);
  }
  for (const index of reached) total += tiers[index]!.flat_amount ?? 0;
  return total;
}

describe('priceAmount', () => {
  it('per unit: unit_amount times quantity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 10_000 }), (unit_amount, quantity) => {
        const price = draftPrice({ currency: 'usd', unit_amount }, KNOWN);
        expect(priceAmount(price, quantity)).toBe(unit_amount * quantity);
      }),
    );
  });

  it('graduated: each unit at the tier it falls in, plus the flat amount of every tier reached', () => {
    fc.assert(
      fc.property(tiersArbitrary, fc.integer({ min: 0, max: 150 }), (tiers, quantity) => {
        expect(priceAmount(tieredPrice('graduated', tiers), quantity)).toBe(graduatedReference(tiers, quantity));
      }),
    );
  });

  it('graduated amounts never fall as the quantity grows', () => {
    fc.assert(
      fc.property(tiersArbitrary, fc.integer({ min: 0, max: 150 }), (tiers, quantity) => {
        const price = tieredPrice('graduated', tiers);
        expect(priceAmount(price, quantity + 1)).toBeGreaterThanOrEqual(priceAmount(price, quantity));
      }),
    );
  });

  it('volume: every unit at the tier the whole quantity falls in, plus that tier’s flat amount', () => {
    fc.assert(
      fc.property(tiersArbitrary, fc.integer({ min: 1, max: 150 }), (tiers, quantity) => {
        const tier = tiers[tierOf(tiers, quantity)]!;
        expect(priceAmount(tieredPrice('volume', tiers), quantity)).toBe((tier.unit_amount ?? 0) * quantity + (tier.flat_amount ?? 0));
      }),
    );
  });

  it('a quantity of 0 bills nothing in either mode', () => {
    fc.assert(
      fc.property(tiersArbitrary, (tiers) => {
        expect(priceAmount(tieredPrice('volume', tiers), 0)).toBe(0);
        expect(priceAmount(tieredPrice('graduated', tiers), 0)).toBe(0);
      }),
    );
  });

  it('Stripe’s documented examples', () => {
    // https://docs.stripe.com/products-prices/pricing-models#tiered-pricing: 1-5 at $5, 6-10 at $4, 11+ at $3.
    const tiers: PriceTier[] = [
      { up_to: 5, unit_amount: 500, flat_amount: null },
      { up_to: 10, unit_amount: 400, flat_amount: null },
      { up_to: null, unit_amount: 300, flat_amount: null },
    ];
    expect(priceAmount(tieredPrice('graduated', tiers), 12)).toBe(5 * 500 + 5 * 400 + 2 * 300);
    expect(priceAmount(tieredPrice('volume', tiers), 12)).toBe(12 * 300);
  });

  it('transform_quantity divides the quantity, rounding as asked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom('up' as const, 'down' as const),
        (quantity, divide_by, round) => {
          const price = draftPrice({ currency: 'usd', unit_amount: 7, transform_quantity: { divide_by, round } }, KNOWN);
          const packages = round === 'up' ? Math.ceil(quantity / divide_by) : Math.floor(quantity / divide_by);
          expect(priceAmount(price, quantity)).toBe(7 * packages);
        },
      ),
    );
  });

  it('refuses a total beyond a safe integer rather than rounding it', () => {
    const price = draftPrice({ currency: 'usd', unit_amount: 99_999_999 }, KNOWN);
    let refused: unknown;
    try {
      priceAmount(price, 1_000_000_000);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(PayrailError);
    expect((refused as PayrailError).code).toBe('amount_too_large');
  });
});

describe('price rules', () => {
  it('allows at most one year between billings, however it is counted', () => {
    for (const [interval, most] of [
      ['day', 365],
      ['week', 52],
      ['month', 12],
      ['year', 1],
    ] as const) {
      expect(() => checkInterval(interval, most)).not.toThrow();
      expect(() => checkInterval(interval, most + 1)).toThrow(PayrailError);
    }
  });

  it('wants ascending tiers ending in inf, each with an amount', () => {
    const tier = (up_to: number | null, unit_amount: number | null = 1, flat_amount: number | null = null) => ({ up_to, unit_amount, flat_amount });
    expect(() => checkTiers([tier(5), tier(null)])).not.toThrow();
    expect(() => checkTiers([])).toThrow(PayrailError);
    expect(() => checkTiers([tier(5)])).toThrow(/last tier/);
    expect(() => checkTiers([tier(null), tier(null)])).toThrow(/Only the last/);
    expect(() => checkTiers([tier(5), tier(5), tier(null)])).toThrow(/ascending/);
    expect(() => checkTiers([tier(5, null, null), tier(null)])).toThrow(/unit_amount/);
  });

  it('keeps tiers and per-unit amounts apart', () => {
    const tiers = [{ up_to: 'inf' as const, unit_amount: 1 }];
    expect(() => draftPrice({ currency: 'usd', unit_amount: 1, billing_scheme: 'tiered', tiers_mode: 'volume', tiers }, KNOWN)).toThrow(PayrailError);
    expect(() => draftPrice({ currency: 'usd', unit_amount: 1, tiers }, KNOWN)).toThrow(PayrailError);
    expect(() => draftPrice({ currency: 'usd', billing_scheme: 'tiered', tiers }, KNOWN)).toThrow(/tiers_mode/);
    expect(() =>
      draftPrice({ currency: 'usd', billing_scheme: 'tiered', tiers_mode: 'volume', tiers, transform_quantity: { divide_by: 2, round: 'up' } }, KNOWN),
    ).toThrow(PayrailError);
  });
});

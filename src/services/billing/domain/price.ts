import { assert } from '../../../kernel/assert.js';
import { PayrailError } from '../../../kernel/errors.js';
import { isSupportedCurrency } from '../../../kernel/money.js';

/**
 * A price: what a product costs, once or per billing period, in integer minor units of one currency.
 * Pure: the rules a price must keep and the amount it bills for a quantity (priceAmount).
 */

export type Interval = 'day' | 'week' | 'month' | 'year';
export type TaxBehavior = 'exclusive' | 'inclusive' | 'unspecified';

export interface PriceTier {
  /** The last quantity this tier covers; null for the last tier ("inf"). */
  up_to: number | null;
  unit_amount: number | null;
  flat_amount: number | null;
}

export interface Recurring {
  interval: Interval;
  interval_count: number;
  /** Metered prices (usage records) are refused at creation: every stored price is licensed. */
  usage_type: 'licensed';
}

export interface TransformQuantity {
  divide_by: number;
  round: 'up' | 'down';
}

export interface Price {
  id: string;
  merchant_id: string;
  product: string;
  active: boolean;
  currency: string;
  type: 'one_time' | 'recurring';
  recurring: Recurring | null;
  billing_scheme: 'per_unit' | 'tiered';
  /** Set when billing_scheme is per_unit. */
  unit_amount: number | null;
  /** Set when billing_scheme is tiered, with tiers_mode. */
  tiers: PriceTier[] | null;
  tiers_mode: 'graduated' | 'volume' | null;
  transform_quantity: TransformQuantity | null;
  lookup_key: string | null;
  nickname: string | null;
  tax_behavior: TaxBehavior;
  metadata: Record<string, string>;
  created: number;
  version: number;
}

export const PRICE_LIMITS = {
  /** Stripe's bound on the tiers of one price. */
  tiers_max: 250,
  /** Stripe's longest billing period at this API version: one year, however it is counted. */
  interval_count_max: { day: 365, week: 52, month: 12, year: 1 } satisfies Record<Interval, number>,
  /** A quantity beyond this is a bug of the caller (Stripe's own quantities are bounded far below). */
  quantity_max: 1_000_000_000,
  divide_by_max: 1_000_000_000,
};

/** Stripe's rule: a price bills at most once a year and at least once per `interval_count` intervals. */
export function checkInterval(interval: Interval, interval_count: number): void {
  const most = PRICE_LIMITS.interval_count_max[interval];
  if (interval_count < 1 || interval_count > most) {
    throw new PayrailError('parameter_invalid', {
      param: 'recurring[interval_count]',
      message: `Invalid recurring[interval_count]: the maximum billing period is one year (1 year, 12 months, 52 weeks or 365 days); ${interval_count} ${interval}s is not between 1 and ${most}.`,
    });
  }
}

/**
 * Stripe's rules for tiers: ascending `up_to`, the last one unbounded ("inf") and only the last, and
 * each tier with a unit amount or a flat amount (or both).
 */
export function checkTiers(tiers: readonly PriceTier[]): void {
  if (tiers.length === 0 || tiers.length > PRICE_LIMITS.tiers_max) {
    throw new PayrailError('parameter_invalid', { param: 'tiers', message: `A tiered price needs 1 to ${PRICE_LIMITS.tiers_max} tiers.` });
  }
  let previous = 0;
  tiers.forEach((tier, index) => {
    const last = index === tiers.length - 1;
    const param = `tiers[${index}][up_to]`;
    if (last && tier.up_to !== null) throw new PayrailError('parameter_invalid', { param, message: 'The last tier must have `up_to` set to `inf`.' });
    if (!last && tier.up_to === null) throw new PayrailError('parameter_invalid', { param, message: 'Only the last tier can have `up_to` set to `inf`.' });
    if (tier.up_to !== null && tier.up_to <= previous) {
      throw new PayrailError('parameter_invalid', { param, message: 'Tiers must be in ascending order of `up_to`, each above the one before and above 0.' });
    }
    if (tier.unit_amount === null && tier.flat_amount === null) {
      throw new PayrailError('parameter_missing', {
        param: `tiers[${index}][unit_amount]`,
        message: 'Each tier needs `unit_amount` or `flat_amount` (or both).',
      });
    }
    previous = tier.up_to ?? previous;
  });
}

/** A stored price's invariants; a price that breaks one is a bug, never the caller's input. */
export function checkPrice(price: Price): Price {
  assert(isSupportedCurrency(price.currency), `price ${price.id}: unsupported currency ${price.currency}`);
  assert((price.type === 'recurring') === (price.recurring !== null), `price ${price.id}: type and recurring disagree`);
  if (price.billing_scheme === 'per_unit') {
    assert(price.unit_amount !== null && Number.isSafeInteger(price.unit_amount) && price.unit_amount >= 0, `price ${price.id}: per_unit needs unit_amount`);
    assert(price.tiers === null && price.tiers_mode === null, `price ${price.id}: per_unit has no tiers`);
  } else {
    assert(price.unit_amount === null && price.tiers !== null && price.tiers_mode !== null, `price ${price.id}: tiered needs tiers and tiers_mode`);
    assert(price.transform_quantity === null, `price ${price.id}: tiers cannot be combined with transform_quantity`);
  }
  return price;
}

/**
 * What `quantity` units of the price bill, in minor units: per unit (after transform_quantity), or
 * by its tiers. Graduated tiers bill each unit at the tier it falls in, plus the flat amount of every
 * tier the quantity reaches; volume tiers bill every unit at the one tier the whole quantity falls in,
 * plus that tier's flat amount. A quantity of 0 bills 0 in both modes. Exact integer arithmetic; a total beyond a safe integer is refused.
 */
export function priceAmount(price: Price, quantity: number): number {
  assert(Number.isSafeInteger(quantity) && quantity >= 0 && quantity <= PRICE_LIMITS.quantity_max, `quantity ${quantity} out of range`);
  const total =
    price.billing_scheme === 'per_unit'
      ? BigInt(price.unit_amount ?? 0) * BigInt(transformed(quantity, price.transform_quantity))
      : price.tiers_mode === 'volume'
        ? volumeAmount(price.tiers ?? [], quantity)
        : graduatedAmount(price.tiers ?? [], quantity);
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PayrailError('amount_too_large', { param: 'quantity', message: `The amount of ${quantity} units of ${price.id} is too large.` });
  }
  return Number(total);
}

function transformed(quantity: number, transform: TransformQuantity | null): number {
  if (!transform) return quantity;
  const whole = Math.floor(quantity / transform.divide_by);
  return transform.round === 'up' && whole * transform.divide_by < quantity ? whole + 1 : whole;
}

function volumeAmount(tiers: readonly PriceTier[], quantity: number): bigint {
  // Nothing bought bills nothing, in either mode: no tier is reached, so no flat amount is due.
  if (quantity === 0) return 0n;
  const tier = tiers.find((candidate) => candidate.up_to === null || quantity <= candidate.up_to);
  assert(tier !== undefined, 'the last tier is unbounded');
  return BigInt(tier.unit_amount ?? 0) * BigInt(quantity) + BigInt(tier.flat_amount ?? 0);
}

function graduatedAmount(tiers: readonly PriceTier[], quantity: number): bigint {
  let total = 0n;
  let floor = 0;
  for (const tier of tiers) {
    if (quantity <= floor) break;
    const units = Math.min(quantity, tier.up_to ?? quantity) - floor;
    total += BigInt(tier.unit_amount ?? 0) * BigInt(units) + BigInt(tier.flat_amount ?? 0);
    floor = tier.up_to ?? quantity;
  }
  return total;
}

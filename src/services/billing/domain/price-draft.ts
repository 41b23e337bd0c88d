import { PayrailError } from '../../../kernel/errors.js';
import type { Interval, Price, PriceTier, TaxBehavior, TransformQuantity } from './price.js';
import { checkInterval, checkPrice, checkTiers } from './price.js';

/**
 * A new price from its creation parameters, as Stripe's rules allow them (pure): which amount fields
 * go with which billing scheme, the recurring period, the tiers. Errors name the parameter at fault.
 */

export interface TierInput {
  up_to: 'inf' | number;
  unit_amount?: number | undefined;
  unit_amount_decimal?: number | undefined;
  flat_amount?: number | undefined;
  flat_amount_decimal?: number | undefined;
}

export interface PriceInput {
  currency: string;
  unit_amount?: number | undefined;
  unit_amount_decimal?: number | undefined;
  recurring?: { interval: Interval; interval_count?: number | undefined; usage_type?: 'licensed' | 'metered' | undefined } | undefined;
  tax_behavior?: TaxBehavior | undefined;
  active?: boolean | undefined;
  billing_scheme?: 'per_unit' | 'tiered' | undefined;
  tiers?: TierInput[] | undefined;
  tiers_mode?: 'graduated' | 'volume' | undefined;
  transform_quantity?: TransformQuantity | undefined;
  lookup_key?: string | undefined;
  nickname?: string | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export function draftPrice(input: PriceInput, known: { id: string; merchant_id: string; product: string; created: number }): Price {
  const tiered = input.billing_scheme === 'tiered';
  const amounts = tiered ? tieredAmounts(input) : perUnitAmount(input);
  const price: Price = {
    ...known,
    active: input.active ?? true,
    currency: input.currency,
    type: input.recurring ? 'recurring' : 'one_time',
    recurring: input.recurring ? recurringOf(input.recurring) : null,
    billing_scheme: tiered ? 'tiered' : 'per_unit',
    ...amounts,
    transform_quantity: input.transform_quantity ?? null,
    lookup_key: input.lookup_key ?? null,
    nickname: input.nickname || null,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    metadata: withoutEmptyValues(input.metadata),
    version: 1,
  };
  return checkPrice(price);
}

function perUnitAmount(input: PriceInput): Pick<Price, 'unit_amount' | 'tiers' | 'tiers_mode'> {
  if (input.tiers !== undefined) throw onlyTiered('tiers');
  if (input.tiers_mode !== undefined) throw onlyTiered('tiers_mode');
  const unit_amount = oneOf(input.unit_amount, input.unit_amount_decimal, 'unit_amount', 'unit_amount_decimal');
  if (unit_amount === undefined) {
    throw new PayrailError('parameter_missing', {
      param: 'unit_amount',
      message:
        'Missing required param: unit_amount. A per_unit price needs unit_amount (or unit_amount_decimal); a tiered one needs billing_scheme=tiered and tiers.',
    });
  }
  return { unit_amount, tiers: null, tiers_mode: null };
}

function tieredAmounts(input: PriceInput): Pick<Price, 'unit_amount' | 'tiers' | 'tiers_mode'> {
  for (const param of ['unit_amount', 'unit_amount_decimal', 'transform_quantity'] as const) {
    if (input[param] !== undefined) {
      throw new PayrailError('parameter_invalid', {
        param,
        message: `You cannot set ${param} on a price with billing_scheme=tiered: its tiers say what it costs.`,
      });
    }
  }
  if (input.tiers === undefined)
    throw new PayrailError('parameter_missing', { param: 'tiers', message: 'Missing required param: tiers (billing_scheme=tiered).' });
  if (input.tiers_mode === undefined) {
    throw new PayrailError('parameter_missing', { param: 'tiers_mode', message: 'Missing required param: tiers_mode (billing_scheme=tiered).' });
  }
  const tiers = input.tiers.map(tierOf);
  checkTiers(tiers);
  return { unit_amount: null, tiers, tiers_mode: input.tiers_mode };
}

function tierOf(tier: TierInput, index: number): PriceTier {
  return {
    up_to: tier.up_to === 'inf' ? null : tier.up_to,
    unit_amount: oneOf(tier.unit_amount, tier.unit_amount_decimal, `tiers[${index}][unit_amount]`, `tiers[${index}][unit_amount_decimal]`) ?? null,
    flat_amount: oneOf(tier.flat_amount, tier.flat_amount_decimal, `tiers[${index}][flat_amount]`, `tiers[${index}][flat_amount_decimal]`) ?? null,
  };
}

function recurringOf(recurring: NonNullable<PriceInput['recurring']>): Price['recurring'] {
  if (recurring.usage_type === 'metered') {
    throw new PayrailError('parameter_invalid', {
      param: 'recurring[usage_type]',
      message: 'Metered prices (recurring[usage_type]=metered) are not supported: Payrail records no usage. Use usage_type=licensed, billed by quantity.',
    });
  }
  const interval_count = recurring.interval_count ?? 1;
  checkInterval(recurring.interval, interval_count);
  return { interval: recurring.interval, interval_count, usage_type: 'licensed' };
}

/** Stripe takes an amount as an integer or as a decimal string, never both. */
function oneOf(integer: number | undefined, decimal: number | undefined, integer_param: string, decimal_param: string): number | undefined {
  if (integer !== undefined && decimal !== undefined) {
    throw new PayrailError('parameters_exclusive', {
      param: decimal_param,
      message: `You may only specify one of these parameters: ${integer_param}, ${decimal_param}.`,
    });
  }
  return integer ?? decimal;
}

function onlyTiered(param: 'tiers' | 'tiers_mode'): PayrailError {
  return new PayrailError('parameter_invalid', { param, message: `${param} can only be set on a price with billing_scheme=tiered.` });
}

/** Metadata on creation: a key sent empty is simply not set. */
export function withoutEmptyValues(metadata: Record<string, string | null> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter((entry): entry is [string, string] => entry[1] !== null));
}

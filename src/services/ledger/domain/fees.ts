import { assert } from '../../../kernel/assert.js';

/**
 * Processing fees: a percentage in basis points plus a fixed part in the charge currency's minor
 * units. Integer math only: the percentage part is rounded half up to a whole minor unit
 * (2.9% of 1050 = 30.45 → 30; of 1070 = 31.03 → 31; of 1550 = 44.95 → 45), then the fixed part is
 * added, and the fee never exceeds the amount it is taken from.
 */
export interface FeeSchedule {
  /** 290 = 2.9%. */
  percent_bps: number;
  /** Minor units of the charge currency. */
  fixed: number;
}

export const DEFAULT_FEE_SCHEDULE: FeeSchedule = { percent_bps: 290, fixed: 30 };
export const FEE_LIMITS = { percent_bps_max: 10_000, fixed_max: 1_000_000 } as const;
const BPS_PER_UNIT = 10_000;

export function isValidFeeSchedule(schedule: FeeSchedule): boolean {
  return (
    Number.isSafeInteger(schedule.percent_bps) &&
    schedule.percent_bps >= 0 &&
    schedule.percent_bps <= FEE_LIMITS.percent_bps_max &&
    Number.isSafeInteger(schedule.fixed) &&
    schedule.fixed >= 0 &&
    schedule.fixed <= FEE_LIMITS.fixed_max
  );
}

export function feeFor(gross: number, schedule: FeeSchedule): number {
  assert(Number.isSafeInteger(gross) && gross >= 0 && gross <= 1_000_000_000_000, 'fee base out of range');
  assert(isValidFeeSchedule(schedule), 'fee schedule out of range');
  const scaled = gross * schedule.percent_bps + BPS_PER_UNIT / 2; // exact: below 2^53
  const percent_part = (scaled - (scaled % BPS_PER_UNIT)) / BPS_PER_UNIT;
  return Math.min(gross, percent_part + schedule.fixed);
}

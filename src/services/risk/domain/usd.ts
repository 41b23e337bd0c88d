import { currencyInfo } from '../../../kernel/money.js';

/**
 * An amount's rough worth in US dollars, for risk features and the `:amount_in_usd:` rule attribute
 * only (never for money that moves). Payrail has no live exchange rates yet (multi-currency FX is a
 * later issue): the major currencies below use fixed reference rates in micro-dollars per major unit
 * (ECB reference rates of November 2026, rounded); any other currency has no USD amount, and rules
 * see `:amount_in_usd:` as missing.
 */
const MICRO_USD_PER_MAJOR_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['usd', 1_000_000n],
  ['eur', 1_080_000n],
  ['gbp', 1_270_000n],
  ['chf', 1_130_000n],
  ['cad', 730_000n],
  ['aud', 660_000n],
  ['nzd', 610_000n],
  ['jpy', 6_700n],
  ['sek', 95_000n],
  ['nok', 94_000n],
  ['dkk', 145_000n],
  ['sgd', 740_000n],
  ['hkd', 128_000n],
]);

const MICRO_USD_PER_CENT = 10_000n;

/** Minor units of USD (cents), rounded half up; null for a currency without a reference rate. */
export function usdCents(amount: number, currency: string): number | null {
  if (currency === 'usd') return amount;
  const rate = MICRO_USD_PER_MAJOR_UNIT.get(currency);
  const info = currencyInfo(currency);
  if (rate === undefined || !info) return null;
  const divisor = 10n ** BigInt(info.exponent) * MICRO_USD_PER_CENT;
  return Number((BigInt(amount) * rate + divisor / 2n) / divisor);
}

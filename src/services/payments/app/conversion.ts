import type { Db } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { currencyInfo, formatAmount } from '../../../kernel/money.js';
import type { FxRates } from '../../fx/index.js';
import { convertAmount } from '../../fx/index.js';
import type { ChargeConversion } from '../domain/conversion.js';

/**
 * Conversion at capture (docs/currencies.md): a charge in another currency than the merchant's
 * settlement currency is converted with a rate quoted when it is confirmed or captured — before the
 * processor hears of it, so a missing or stale rate refuses the payment and nothing is stored. The
 * quote rides on the intent and the charge (never rendered) into the capture event's internal facts,
 * and the ledger converts with exactly that rate: a replay of the event posts the same amounts.
 */

export type { ChargeConversion };

export interface PaymentsFx {
  /**
   * The conversion a charge of `amount` in `currency` needs at `at_s`, or null when `currency` is the
   * merchant's settlement currency. Throws `rate_unavailable` (no fresh rate) or `amount_too_small`.
   */
  conversionFor(db: Db, merchant_id: string, amount: number, currency: string, at_s: number): Promise<ChargeConversion | null>;
}

/** A merchant's settlement currency is re-read after this long: a change applies to payments from then on. */
export const SETTLEMENT_CURRENCY_TTL_MS = 30_000;
const CACHED_MERCHANTS_MAX = 10_000;

/**
 * PaymentsFx over the rates service and the merchants' settlement currencies. The settlement currency
 * is cached per merchant, so a charge in it costs no query and no quote (the hot path stays as it was).
 */
export function settlementFx(rates: FxRates, settlementCurrencyOf: (db: Db, merchant_id: string) => Promise<string>, now_ms = Date.now): PaymentsFx {
  const cached = new Map<string, { currency: string; expires_ms: number }>();
  const settlementCurrency = async (db: Db, merchant_id: string): Promise<string> => {
    const hit = cached.get(merchant_id);
    if (hit && hit.expires_ms > now_ms()) return hit.currency;
    const currency = await settlementCurrencyOf(db, merchant_id);
    if (cached.size >= CACHED_MERCHANTS_MAX) cached.delete(cached.keys().next().value!);
    cached.set(merchant_id, { currency, expires_ms: now_ms() + SETTLEMENT_CURRENCY_TTL_MS });
    return currency;
  };
  return {
    async conversionFor(db, merchant_id, amount, currency, at_s) {
      const settlement_currency = await settlementCurrency(db, merchant_id);
      if (settlement_currency === currency) return null;
      const quote = await rates.quote(currency, settlement_currency, at_s);
      checkConvertedMinimum(amount, currency, settlement_currency, quote.rate);
      return { quote_id: quote.id, rate: quote.rate, settlement_currency };
    },
  };
}

/** Stripe's rule: a charge must convert to at least the settlement currency's minimum charge. */
function checkConvertedMinimum(amount: number, currency: string, settlement_currency: string, rate: string): void {
  const minimum = currencyInfo(settlement_currency)?.min_charge_amount ?? 0;
  const converted = convertAmount(amount, currency, settlement_currency, rate);
  if (converted >= minimum) return;
  throw new PayrailError('amount_too_small', {
    param: 'amount',
    message: `Amount must convert to at least ${formatAmount(minimum, settlement_currency)}. ${formatAmount(amount, currency)} converts to approximately ${formatAmount(converted, settlement_currency)}.`,
  });
}

/** `target` carrying the conversion, or none: the intent and charge keep the latest quote for the capture event. */
export function withConversion<T extends { fx?: ChargeConversion }>(target: T, conversion: ChargeConversion | null): T {
  // Most payments are in their settlement currency: nothing to set or remove, and no copy to make.
  if (conversion === null && target.fx === undefined) return target;
  const { fx: _previous, ...rest } = target;
  return (conversion ? { ...rest, fx: conversion } : rest) as T;
}

/** The capture event's internal facts for the ledger: the quote it converts with. */
export function conversionFacts(conversion: ChargeConversion | undefined): Record<string, string> {
  return conversion ? { fx_quote: conversion.quote_id, fx_rate: conversion.rate, settlement_currency: conversion.settlement_currency } : {};
}

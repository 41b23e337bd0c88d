/**
 * Money is an integer count of a currency's minor unit plus a lowercase ISO 4217 code: never a float.
 * Exponents and Stripe's minimum charge amounts come from this one table.
 */
export interface CurrencyInfo {
  exponent: 0 | 2 | 3;
  min_charge_amount: number;
}

const ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'];
const THREE_DECIMAL = ['bhd', 'jod', 'kwd', 'omr', 'tnd'];
const TWO_DECIMAL = [
  'aed',
  'afn',
  'all',
  'amd',
  'ang',
  'aoa',
  'ars',
  'aud',
  'awg',
  'azn',
  'bam',
  'bbd',
  'bdt',
  'bgn',
  'bmd',
  'bnd',
  'bob',
  'brl',
  'bsd',
  'bwp',
  'byn',
  'bzd',
  'cad',
  'cdf',
  'chf',
  'cny',
  'cop',
  'crc',
  'cve',
  'czk',
  'dkk',
  'dop',
  'dzd',
  'egp',
  'etb',
  'eur',
  'fjd',
  'fkp',
  'gbp',
  'gel',
  'gip',
  'gmd',
  'gtq',
  'gyd',
  'hkd',
  'hnl',
  'htg',
  'huf',
  'idr',
  'ils',
  'inr',
  'isk',
  'jmd',
  'kes',
  'kgs',
  'khr',
  'kyd',
  'kzt',
  'lak',
  'lbp',
  'lkr',
  'lrd',
  'lsl',
  'mad',
  'mdl',
  'mkd',
  'mmk',
  'mnt',
  'mop',
  'mur',
  'mvr',
  'mwk',
  'mxn',
  'myr',
  'mzn',
  'nad',
  'ngn',
  'nio',
  'nok',
  'npr',
  'nzd',
  'pab',
  'pen',
  'pgk',
  'php',
  'pkr',
  'pln',
  'qar',
  'ron',
  'rsd',
  'rub',
  'sar',
  'sbd',
  'scr',
  'sek',
  'sgd',
  'shp',
  'sle',
  'sos',
  'srd',
  'std',
  'szl',
  'thb',
  'tjs',
  'top',
  'try',
  'ttd',
  'twd',
  'tzs',
  'uah',
  'usd',
  'uyu',
  'uzs',
  'wst',
  'xcd',
  'yer',
  'zar',
  'zmw',
];

/** Stripe's published minimums where they differ from 50 minor units. */
const MIN_CHARGE_OVERRIDES: Record<string, number> = {
  aed: 200,
  bgn: 100,
  czk: 1500,
  dkk: 250,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  mxn: 1000,
  myr: 200,
  nok: 300,
  pln: 200,
  ron: 200,
  sek: 300,
  thb: 1000,
  bhd: 500,
  jod: 500,
  kwd: 500,
  omr: 500,
  tnd: 500,
};

const CURRENCIES = new Map<string, CurrencyInfo>();
for (const code of ZERO_DECIMAL) CURRENCIES.set(code, { exponent: 0, min_charge_amount: MIN_CHARGE_OVERRIDES[code] ?? 50 });
for (const code of TWO_DECIMAL) CURRENCIES.set(code, { exponent: 2, min_charge_amount: MIN_CHARGE_OVERRIDES[code] ?? 50 });
for (const code of THREE_DECIMAL) CURRENCIES.set(code, { exponent: 3, min_charge_amount: MIN_CHARGE_OVERRIDES[code] ?? 500 });

/** Stripe's cap: eight digits of minor units. */
export const MAX_AMOUNT = 99_999_999;

export function currencyInfo(code: string): CurrencyInfo | undefined {
  return CURRENCIES.get(code);
}

export function isSupportedCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

export function isValidAmount(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount >= 0 && amount <= MAX_AMOUNT;
}

/** Symbols Stripe's messages put before an amount; other currencies show the amount alone. */
const SYMBOLS: Record<string, string> = {
  usd: '$',
  eur: '€',
  gbp: '£',
  jpy: '¥',
  cad: '$',
  aud: '$',
  nzd: '$',
  sgd: '$',
  hkd: '$',
  mxn: '$',
  inr: '₹',
  krw: '₩',
  cny: '¥',
};

/** An amount in minor units as Stripe's messages write it: `$0.50 usd`, `¥50 jpy`, `0.500 kwd`. */
export function formatAmount(amount: number, currency: string): string {
  const exponent = currencyInfo(currency)?.exponent ?? 2;
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${amount < 0 ? '-' : ''}${SYMBOLS[currency] ?? ''}${major} ${currency}`;
}

/** Stripe's amount_too_small message for a charge below the currency's minimum. */
export function minimumChargeMessage(currency: string): string {
  return `Amount must be at least ${formatAmount(currencyInfo(currency)?.min_charge_amount ?? 0, currency)}`;
}

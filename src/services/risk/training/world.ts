import type { CheckResult, RiskSignals } from '../domain/signals.js';
import type { IpSampler } from './ip-sampler.js';
import type { Random } from './random.js';

/**
 * The synthetic world's people and shops: merchants with their own price levels, and customers with
 * a home country, cards, an email and a few home addresses. Fraud patterns (patterns.ts) and ordinary
 * shopping (synthetic.ts) both draw from it.
 */

/** Where cardholders live, weighted roughly by card-not-present volume. */
export const HOME_COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ['US', 36],
  ['GB', 10],
  ['DE', 8],
  ['FR', 7],
  ['CA', 5],
  ['AU', 4],
  ['JP', 4],
  ['NL', 3],
  ['ES', 3],
  ['IT', 3],
  ['BR', 3],
  ['MX', 3],
  ['IN', 3],
  ['SE', 2],
  ['PL', 2],
  ['IE', 2],
  ['SG', 2],
];

/** Where fraudsters' traffic comes from: anywhere, often proxies far from the card's country. */
export const FRAUD_IP_COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ['US', 20],
  ['NG', 8],
  ['RU', 8],
  ['VN', 8],
  ['ID', 6],
  ['BR', 6],
  ['RO', 6],
  ['UA', 5],
  ['CN', 5],
  ['IN', 5],
  ['PH', 4],
  ['NL', 4],
  ['DE', 4],
  ['GB', 4],
];

/** Hours east of UTC where most of the country's shoppers are (for when they shop). */
const UTC_OFFSET_HOURS: Readonly<Record<string, number>> = { US: -6, CA: -5, MX: -6, BR: -3, GB: 0, IE: 0, JP: 9, AU: 10, SG: 8, IN: 5 };
const EUROPE_OFFSET_HOURS = 1;

export function utcOffsetHours(country: string): number {
  return UTC_OFFSET_HOURS[country] ?? EUROPE_OFFSET_HOURS;
}

const CURRENCIES: ReadonlyArray<readonly [string, number]> = [
  ['usd', 1],
  ['eur', 1.08],
  ['gbp', 1.27],
];

export interface Merchant {
  id: string;
  currency: string;
  usd_per_unit: number;
  /** Median price in the merchant's minor units. */
  median_amount: number;
}

export interface Card {
  fingerprint: string;
  bin: string;
  last4: string;
  brand: string;
  country: string;
  funding: string;
}

export interface Customer {
  index: number;
  country: string;
  email: string;
  cards: Card[];
  ips: string[];
  merchants: Merchant[];
  /** Customer ids per merchant where the shopper has an account (ATO targets these). */
  accounts: Map<string, string>;
}

export function makeMerchants(random: Random, count: number): Merchant[] {
  return Array.from({ length: count }, (_, index) => {
    const [currency, usd_per_unit] = random.pick(CURRENCIES);
    return { id: `acct_synthetic${index}`, currency, usd_per_unit, median_amount: Math.round(random.logNormal(4000, 0.8)) };
  });
}

export function makeCard(random: Random, country: string): Card {
  const brand = random.weighted([
    ['visa', 55],
    ['mastercard', 35],
    ['amex', 10],
  ] as const);
  const prefix = brand === 'visa' ? '4' : brand === 'mastercard' ? '5' : '37';
  const bin = (prefix + random.hex(12).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10))).slice(0, 6);
  const funding = random.weighted([
    ['credit', 60],
    ['debit', 35],
    ['prepaid', 5],
  ] as const);
  return { fingerprint: random.hex(16), bin, last4: String(1000 + random.int(9000)), brand, country, funding };
}

export function makeCustomer(random: Random, index: number, merchants: readonly Merchant[], ips: IpSampler): Customer {
  const country = random.weighted(HOME_COUNTRIES);
  const card_count = random.chance(0.3) ? 2 : 1;
  const cards = Array.from({ length: card_count }, () => makeCard(random, random.chance(0.96) ? country : random.weighted(HOME_COUNTRIES)));
  const home_ips = Array.from({ length: 1 + random.int(3) }, () => ips.sample(country, random)).filter((ip): ip is string => ip !== null);
  const favourites = Array.from({ length: 1 + random.int(3) }, () => random.pick(merchants));
  const accounts = new Map<string, string>();
  for (const merchant of favourites) if (random.chance(0.5)) accounts.set(merchant.id, `cus_synthetic${index}_${merchant.id.slice(-3)}`);
  return {
    index,
    country,
    email: `shopper${index}@${random.pick(['mail.example', 'post.example', 'inbox.example'])}`,
    cards,
    ips: home_ips,
    merchants: favourites,
    accounts,
  };
}

export interface Checks {
  cvc_check: CheckResult | null;
  address_line1_check: CheckResult | null;
  address_postal_code_check: CheckResult | null;
}

/** Check results of an honest shopper: mostly passing, some banks not checking, the odd typo. */
export function honestChecks(random: Random): Checks {
  return {
    cvc_check: random.weighted<CheckResult>([
      ['pass', 90],
      ['unavailable', 6],
      ['unchecked', 3],
      ['fail', 1],
    ]),
    address_line1_check: random.weighted<CheckResult | null>([
      ['pass', 70],
      ['unavailable', 15],
      [null, 12],
      ['fail', 3],
    ]),
    address_postal_code_check: random.weighted<CheckResult | null>([
      ['pass', 80],
      ['unavailable', 10],
      [null, 7],
      ['fail', 3],
    ]),
  };
}

export interface Attempt {
  merchant: Merchant;
  created_ms: number;
  amount: number;
  card: Card;
  ip_address: string | null;
  email: string | null;
  customer_id: string | null;
  checks: Checks;
}

export function signalsOf(attempt: Attempt): RiskSignals {
  const { merchant, card } = attempt;
  const amount = Math.max(50, Math.round(attempt.amount));
  return {
    merchant_id: merchant.id,
    livemode: false,
    created: Math.floor(attempt.created_ms / 1000),
    amount,
    currency: merchant.currency,
    amount_in_usd: Math.round(amount * merchant.usd_per_unit),
    card_fingerprint: card.fingerprint,
    card_bin: card.bin,
    card_last4: card.last4,
    card_brand: card.brand,
    card_country: card.country,
    card_funding: card.funding,
    ip_address: attempt.ip_address,
    email: attempt.email,
    customer_id: attempt.customer_id,
    ...attempt.checks,
  };
}

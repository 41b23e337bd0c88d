import type { AttributeValue, CheckResult, RiskSignals } from './signals.js';
import type { AmountStats } from './windows.js';

/**
 * The model's inputs, computed from an attempt's signals and its window readings (velocity-plan.ts).
 * The server and the training script both come through here, so a model is trained on exactly the
 * features it is later asked about. Counts enter as log(1 + n): the tenth attempt matters less than
 * the second. The names are the model file's `features`, in this order.
 */
export const FEATURE_NAMES = [
  'log_amount_usd',
  'amount_zscore',
  'amount_history_thin',
  'is_night_utc',
  'night_x_log_amount_usd',
  'card_ip_country_mismatch',
  'ip_country_unknown',
  'card_country_unknown',
  'card_funding_prepaid',
  'email_missing',
  'log_charges_per_card_hourly',
  'log_charges_per_card_daily',
  'log_failed_charges_per_card_daily',
  'log_ip_addresses_per_card_hourly',
  'log_ip_countries_per_card_daily',
  'log_emails_per_card_daily',
  'log_charges_per_ip_hourly',
  'log_failed_charges_per_ip_hourly',
  'log_cards_per_ip_hourly',
  'log_small_charges_per_ip_hourly',
  'log_charges_per_email_hourly',
  'log_cards_per_email_daily',
  'log_card_age_hours',
  'log_email_age_hours',
  'is_new_card_on_merchant',
  'is_new_card_on_customer',
  'is_new_email_on_customer',
  'new_card_x_country_mismatch',
  'log_small_charges_per_merchant_10min',
  'log_declined_charges_per_merchant_10min',
  'cvc_fail',
  'cvc_not_checked',
  'postal_code_fail',
  'address_line1_fail',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** A merchant's amounts mean little before this many payments in the currency: the z-score is then 0. */
export const MIN_AMOUNT_HISTORY = 20;
const MAX_ABS_ZSCORE = 8;
const NIGHT_END_HOUR_UTC = 6;

export interface FeatureInput {
  signals: RiskSignals;
  ip_country: string | null;
  readings: Readonly<Record<string, number>>;
  stats: AmountStats;
  now_ms: number;
}

export interface Features {
  vector: Float64Array;
  attributes: Record<string, AttributeValue>;
}

/** ln(1 + amount in minor units): the quantity the merchant's running statistics are kept in. */
export function logAmount(amount: number): number {
  return Math.log1p(Math.max(0, amount));
}

export function amountZscore(stats: AmountStats, x: number): number {
  if (stats.n < MIN_AMOUNT_HISTORY || stats.variance <= 0) return 0;
  const z = (x - stats.mean) / Math.sqrt(stats.variance);
  return Math.max(-MAX_ABS_ZSCORE, Math.min(MAX_ABS_ZSCORE, z));
}

function failed(check: CheckResult | null): number {
  return check === 'fail' ? 1 : 0;
}

/** Hours since a first sighting, or 0 when this attempt is the first (ms is -1). */
function ageHours(first_seen_ms: number | undefined, now_ms: number): number {
  return first_seen_ms === undefined || first_seen_ms < 0 ? 0 : Math.max(0, now_ms - first_seen_ms) / 3_600_000;
}

export function computeFeatures({ signals, ip_country, readings, stats, now_ms }: FeatureInput): Features {
  const read = (name: string): number => readings[name] ?? 0;
  const failures = (names: GridNames): number => read(names.declined) + read(names.blocked);
  const total = (names: GridNames): number => read(names.authorized) + failures(names);

  const zscore = amountZscore(stats, logAmount(signals.amount));
  const log_amount_usd = Math.log1p(Math.max(0, signals.amount_in_usd) / 100);
  const night = new Date(now_ms).getUTCHours() < NIGHT_END_HOUR_UTC ? 1 : 0;
  const mismatch = signals.card_country !== null && ip_country !== null && signals.card_country !== ip_country ? 1 : 0;
  const card_first_seen = readings.card_first_seen_ms;
  const email_first_seen = readings.email_first_seen_ms;
  const new_on_merchant = read('card_authorized_on_merchant_ms') < 0;
  const has_customer = signals.customer_id !== null;
  const new_card_on_customer = has_customer ? read('card_authorized_for_customer_ms') < 0 : null;
  const new_email_on_customer = has_customer && signals.email !== null ? read('email_authorized_for_customer_ms') < 0 : null;
  const cvc = signals.cvc_check;

  const values: Record<FeatureName, number> = {
    log_amount_usd,
    amount_zscore: zscore,
    amount_history_thin: stats.n < MIN_AMOUNT_HISTORY ? 1 : 0,
    is_night_utc: night,
    night_x_log_amount_usd: night * log_amount_usd,
    card_ip_country_mismatch: mismatch,
    ip_country_unknown: ip_country === null ? 1 : 0,
    card_country_unknown: signals.card_country === null ? 1 : 0,
    card_funding_prepaid: signals.card_funding === 'prepaid' ? 1 : 0,
    email_missing: signals.email === null ? 1 : 0,
    log_charges_per_card_hourly: Math.log1p(total(grid('card_number', 'hourly'))),
    log_charges_per_card_daily: Math.log1p(total(grid('card_number', 'daily'))),
    log_failed_charges_per_card_daily: Math.log1p(failures(grid('card_number', 'daily'))),
    log_ip_addresses_per_card_hourly: Math.log1p(read('ip_address_count_for_card_hourly')),
    log_ip_countries_per_card_daily: Math.log1p(read('ip_country_count_for_card_daily')),
    log_emails_per_card_daily: Math.log1p(read('email_count_for_card_daily')),
    log_charges_per_ip_hourly: Math.log1p(total(grid('ip_address', 'hourly'))),
    log_failed_charges_per_ip_hourly: Math.log1p(failures(grid('ip_address', 'hourly'))),
    log_cards_per_ip_hourly: Math.log1p(read('card_count_for_ip_address_hourly')),
    log_small_charges_per_ip_hourly: Math.log1p(read('small_charges_per_ip_address_hourly')),
    log_charges_per_email_hourly: Math.log1p(total(grid('email', 'hourly'))),
    log_cards_per_email_daily: Math.log1p(read('card_count_for_email_daily')),
    log_card_age_hours: Math.log1p(ageHours(card_first_seen, now_ms)),
    log_email_age_hours: Math.log1p(ageHours(email_first_seen, now_ms)),
    is_new_card_on_merchant: new_on_merchant ? 1 : 0,
    is_new_card_on_customer: new_card_on_customer === true ? 1 : 0,
    is_new_email_on_customer: new_email_on_customer === true ? 1 : 0,
    new_card_x_country_mismatch: new_on_merchant ? mismatch : 0,
    log_small_charges_per_merchant_10min: Math.log1p(read('small_charges_per_merchant_10min')),
    log_declined_charges_per_merchant_10min: Math.log1p(read('declined_charges_per_merchant_10min')),
    cvc_fail: failed(cvc),
    cvc_not_checked: cvc === 'pass' || cvc === 'fail' ? 0 : 1,
    postal_code_fail: failed(signals.address_postal_code_check),
    address_line1_fail: failed(signals.address_line1_check),
  };
  const vector = Float64Array.from(FEATURE_NAMES, (name) => values[name]);
  const derived = { zscore, night, mismatch, new_on_merchant, new_card_on_customer, new_email_on_customer, now_ms };
  return { vector, attributes: ruleAttributes(readings, derived) };
}

interface GridNames {
  total: string;
  authorized: string;
  declined: string;
  blocked: string;
}

const GRID_ENTITIES = ['card_number', 'email', 'ip_address', 'customer'] as const;
const GRID_WINDOWS = ['hourly', 'daily', 'weekly'] as const;
/** Radar's velocity names, built once: `grid('email', 'daily').declined` is `declined_charges_per_email_daily`. */
const GRID: ReadonlyMap<string, GridNames> = new Map(
  GRID_ENTITIES.flatMap((entity) =>
    GRID_WINDOWS.map((window) => {
      const name = (count: string): string => `${count}_charges_per_${entity}_${window}`;
      return [`${entity}/${window}`, { total: name('total'), authorized: name('authorized'), declined: name('declined'), blocked: name('blocked') }] as const;
    }),
  ),
);

function grid(entity: (typeof GRID_ENTITIES)[number], window: (typeof GRID_WINDOWS)[number]): GridNames {
  const names = GRID.get(`${entity}/${window}`);
  if (names === undefined) throw new Error(`no velocity names for ${entity} ${window}`);
  return names;
}

interface Derived {
  zscore: number;
  night: number;
  mismatch: number;
  new_on_merchant: boolean;
  new_card_on_customer: boolean | null;
  new_email_on_customer: boolean | null;
  now_ms: number;
}

const AGE_READINGS = new Set([
  'card_first_seen_ms',
  'email_first_seen_ms',
  'card_authorized_on_merchant_ms',
  'card_authorized_for_customer_ms',
  'email_authorized_for_customer_ms',
]);

/**
 * The values rules may test, in Radar's names where Radar has one: every velocity count read (the
 * `{total,authorized,declined,blocked}_charges_per_{card_number,email,ip_address,customer}_{hourly,
 * daily,weekly}` grid, counting earlier attempts), the distinct counts (including this attempt's own
 * value), first-seen ages, and the derived flags.
 */
function ruleAttributes(readings: Readonly<Record<string, number>>, derived: Derived): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const name of Object.keys(readings)) if (!AGE_READINGS.has(name)) attributes[name] = readings[name] ?? 0;
  for (const names of GRID.values()) {
    const authorized = readings[names.authorized];
    if (authorized !== undefined) attributes[names.total] = authorized + (readings[names.declined] ?? 0) + (readings[names.blocked] ?? 0);
  }
  attributes.seconds_since_card_first_seen = secondsSince(readings.card_first_seen_ms, derived.now_ms);
  if (readings.email_first_seen_ms !== undefined) attributes.seconds_since_email_first_seen = secondsSince(readings.email_first_seen_ms, derived.now_ms);
  attributes.amount_zscore = Math.round(derived.zscore * 100) / 100;
  attributes.is_night_utc = derived.night === 1;
  attributes.card_country_differs_from_ip_country = derived.mismatch === 1;
  attributes.is_new_card_on_merchant = derived.new_on_merchant;
  attributes.is_new_card_on_customer = derived.new_card_on_customer;
  attributes.is_new_email_on_customer = derived.new_email_on_customer;
  return attributes;
}

function secondsSince(first_seen_ms: number | undefined, now_ms: number): number {
  return first_seen_ms === undefined || first_seen_ms < 0 ? 0 : Math.floor(Math.max(0, now_ms - first_seen_ms) / 1000);
}

/**
 * The attributes a rule may test, named as Stripe Radar names them (without the colons), with their
 * types. A rule naming another attribute, or comparing one with a value of another type, is refused
 * when it is written; at evaluation the values' own types are checked again (rule-evaluation.ts).
 */
export type AttributeType = 'number' | 'string' | 'boolean';

/** What the payments service passes with every attempt (null when the payment has no value): absent is a bug. */
const STRINGS = [
  'risk_level',
  'card_country',
  'ip_country',
  'ip_address',
  'email',
  'email_domain',
  'card_fingerprint',
  'card_bin',
  'card_brand',
  'card_funding',
  'cvc_check',
  'address_zip_check',
  'address_line1_check',
  'customer',
  'currency',
  'shipping_address_country',
] as const;
const NUMBERS = ['risk_score', 'amount_in_usd'] as const;
const BOOLEANS = ['is_off_session'] as const;

/**
 * What the scorer reads from its windows when it can (no email, no email velocity): absent is missing.
 * Radar's velocity grid `{total,authorized,declined,blocked}_charges_per_{card_number,email,ip_address,customer}_{hourly,daily,weekly}`,
 * distinct counts, first-seen ages, and the scorer's flags.
 */
const SCORER_NUMBERS = [
  'amount_zscore',
  'seconds_since_card_first_seen',
  'seconds_since_email_first_seen',
  'card_count_for_email_daily',
  'card_count_for_email_weekly',
  'card_count_for_ip_address_hourly',
  'card_count_for_ip_address_daily',
  'email_count_for_card_daily',
  'email_count_for_card_weekly',
  'ip_address_count_for_card_hourly',
  'ip_country_count_for_card_daily',
  'small_charges_per_ip_address_hourly',
  'small_charges_per_merchant_10min',
  'declined_charges_per_merchant_10min',
] as const;
const SCORER_BOOLEANS = [
  'is_new_card_on_merchant',
  'is_new_card_on_customer',
  'is_new_email_on_customer',
  'is_night_utc',
  'card_country_differs_from_ip_country',
] as const;

const VELOCITY_COUNTS = ['total_charges', 'authorized_charges', 'declined_charges', 'blocked_charges'] as const;
const VELOCITY_KEYS = ['card_number', 'email', 'ip_address', 'customer'] as const;
const VELOCITY_WINDOWS = ['hourly', 'daily', 'weekly'] as const;

const velocity = VELOCITY_COUNTS.flatMap((count) => VELOCITY_KEYS.flatMap((key) => VELOCITY_WINDOWS.map((window) => `${count}_per_${key}_${window}`)));

export interface AttributeSpec {
  type: AttributeType;
  /** Passed with every payment (absent: the caller's bug, and the rule fails closed), or only when known (absent: missing). */
  always: boolean;
}

const spec = (type: AttributeType, always: boolean) => (name: string) => [name, { type, always }] as const;

export const RULE_ATTRIBUTES: ReadonlyMap<string, AttributeSpec> = new Map<string, AttributeSpec>([
  ...STRINGS.map(spec('string', true)),
  ...NUMBERS.map(spec('number', true)),
  ...BOOLEANS.map(spec('boolean', true)),
  ...SCORER_NUMBERS.map(spec('number', false)),
  ...velocity.map(spec('number', false)),
  ...SCORER_BOOLEANS.map(spec('boolean', false)),
]);

export function attributeType(name: string): AttributeType | undefined {
  return RULE_ATTRIBUTES.get(name)?.type;
}

/**
 * Attributes derived from others when the caller did not pass them: `email_domain` from `email`, as
 * Radar derives it.
 */
export function derivedAttribute(name: string, attributes: Readonly<Record<string, unknown>>): { value: unknown } | undefined {
  if (name === 'email_domain' && 'email' in attributes) {
    const email = attributes.email;
    if (typeof email !== 'string') return { value: null };
    const at = email.lastIndexOf('@');
    return { value: at < 0 ? null : email.slice(at + 1).toLowerCase() };
  }
  return undefined;
}

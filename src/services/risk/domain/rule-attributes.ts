/**
 * The attributes a rule may test, named as Stripe Radar names them (without the colons), with their
 * types. A rule naming another attribute, or comparing one with a value of another type, is refused
 * when it is written; at evaluation the values' own types are checked again (rule-evaluation.ts).
 */
export type AttributeType = 'number' | 'string' | 'boolean';

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
  'billing_address_country',
  'shipping_address_country',
  'card_3d_secure_support',
] as const;

const NUMBERS = [
  'risk_score',
  'amount_in_usd',
  'amount_zscore',
  'seconds_since_card_first_seen',
  'seconds_since_email_first_seen',
  'card_count_for_email_daily',
  'card_count_for_email_weekly',
  'card_count_for_ip_address_hourly',
  'card_count_for_ip_address_daily',
  'email_count_for_card_daily',
  'email_count_for_card_weekly',
  'small_charges_per_ip_address_hourly',
] as const;

const BOOLEANS = ['is_off_session', 'is_new_card_on_merchant', 'is_new_card_on_customer', 'is_3d_secure', 'is_3d_secure_authenticated'] as const;

/** Radar's velocity counts: `declined_charges_per_card_number_hourly` and the rest of the grid. */
const VELOCITY_COUNTS = ['total_charges', 'authorized_charges', 'declined_charges', 'blocked_charges'] as const;
const VELOCITY_KEYS = ['card_number', 'email', 'ip_address', 'customer'] as const;
const VELOCITY_WINDOWS = ['hourly', 'daily', 'weekly'] as const;

const velocity = VELOCITY_COUNTS.flatMap((count) => VELOCITY_KEYS.flatMap((key) => VELOCITY_WINDOWS.map((window) => `${count}_per_${key}_${window}`)));

export const RULE_ATTRIBUTES: ReadonlyMap<string, AttributeType> = new Map<string, AttributeType>([
  ...STRINGS.map((name) => [name, 'string'] as const),
  ...NUMBERS.map((name) => [name, 'number'] as const),
  ...velocity.map((name) => [name, 'number'] as const),
  ...BOOLEANS.map((name) => [name, 'boolean'] as const),
]);

export function attributeType(name: string): AttributeType | undefined {
  return RULE_ATTRIBUTES.get(name);
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

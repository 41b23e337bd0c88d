import { canonicalIp, isIpAddress } from './ip-address.js';

/**
 * Stripe's value list item types, how each checks a value when it is added, and how values are
 * compared when a rule asks `:attr: IN @alias`: case-insensitively except `case_sensitive_string`
 * and the fingerprints and ids, which are exact.
 */
export const ITEM_TYPES = [
  'card_bin',
  'card_fingerprint',
  'case_sensitive_string',
  'country',
  'customer_id',
  'email',
  'ip_address',
  'sepa_debit_fingerprint',
  'string',
  'us_bank_account_fingerprint',
] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

/** Stripe's limits on list parameters. */
export const VALUE_LIST_LIMITS = { alias_max: 100, name_max: 100, value_max: 800 } as const;

const CASE_INSENSITIVE: ReadonlySet<ItemType> = new Set(['string', 'email', 'country']);

const CHECKS: Record<ItemType, { test: (value: string) => boolean; expected: string }> = {
  card_bin: { test: (v) => /^\d{6,8}$/.test(v), expected: 'the first 6 to 8 digits of a card number' },
  card_fingerprint: { test: (v) => /^[A-Za-z0-9]{8,64}$/.test(v), expected: 'a card fingerprint (letters and digits)' },
  sepa_debit_fingerprint: { test: (v) => /^[A-Za-z0-9]{8,64}$/.test(v), expected: 'a SEPA Debit fingerprint (letters and digits)' },
  us_bank_account_fingerprint: { test: (v) => /^[A-Za-z0-9]{8,64}$/.test(v), expected: 'a US bank account fingerprint (letters and digits)' },
  country: { test: (v) => /^[A-Za-z]{2}$/.test(v), expected: 'a two-letter ISO country code' },
  customer_id: { test: (v) => /^cus_[A-Za-z0-9]{1,64}$/.test(v), expected: 'a customer id (cus_…)' },
  email: { test: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), expected: 'an email address' },
  ip_address: { test: isIpAddress, expected: 'an IPv4 or IPv6 address' },
  string: { test: (v) => v.length > 0, expected: 'a non-empty string' },
  case_sensitive_string: { test: (v) => v.length > 0, expected: 'a non-empty string' },
};

/** Why `value` cannot be an item of a list of `type`, or undefined when it can. */
export function itemValueProblem(type: ItemType, value: string): string | undefined {
  const check = CHECKS[type];
  return check.test(value) ? undefined : `Invalid value for a ${type} list: expected ${check.expected}.`;
}

/** The form a value is stored and looked up in. */
export function normalizedValue(type: ItemType, value: string): string {
  if (type === 'ip_address') return canonicalIp(value);
  return CASE_INSENSITIVE.has(type) ? value.toLowerCase() : value;
}

/** Aliases are what rules write after `@`: letters, digits and underscores. */
export const ALIAS_PATTERN = /^[A-Za-z0-9_]{1,100}$/;

export interface ListMatcher {
  has(value: string): boolean;
}

/** A list's items, ready for lookups in constant time. */
export function listMatcher(type: ItemType, values: Iterable<string>): ListMatcher {
  const set = new Set<string>();
  for (const value of values) set.add(normalizedValue(type, value));
  return { has: (value) => set.has(normalizedValue(type, value)) };
}

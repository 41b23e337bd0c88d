import { PayrailError } from '../../../kernel/errors.js';

/**
 * Stripe's Account object as Payrail keeps it: a merchant row (merchants.merchants), either a platform
 * or standalone merchant (platform_id null) or a platform's connected account. Payrail verifies no
 * identity: in its test mode every requested capability is active at once, as after onboarding.
 */

export const ACCOUNT_TYPES = ['standard', 'express', 'custom'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export const BUSINESS_TYPES = ['company', 'government_entity', 'individual', 'non_profit'] as const;
export type BusinessType = (typeof BUSINESS_TYPES)[number];
/** The capabilities Payrail can honour: card payments and receiving transfers (and so payouts). */
export const CAPABILITIES = ['card_payments', 'transfers'] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type CapabilityStatus = 'active' | 'inactive';
export type CapabilityRequests = Partial<Record<Capability, { requested?: boolean | undefined }>>;

/** Countries an account may be created in, with the currency Stripe makes an account's default there. */
export const COUNTRY_CURRENCIES: Readonly<Record<string, string>> = {
  US: 'usd',
  CA: 'cad',
  GB: 'gbp',
  AU: 'aud',
  NZ: 'nzd',
  JP: 'jpy',
  SG: 'sgd',
  HK: 'hkd',
  CH: 'chf',
  SE: 'sek',
  DK: 'dkk',
  NO: 'nok',
  AT: 'eur',
  BE: 'eur',
  DE: 'eur',
  ES: 'eur',
  FI: 'eur',
  FR: 'eur',
  IE: 'eur',
  IT: 'eur',
  NL: 'eur',
  PT: 'eur',
};

export interface AccountRow {
  id: string;
  platform_id: string | null;
  created: number;
  type: AccountType;
  country: string;
  default_currency: string;
  email: string | null;
  business_type: BusinessType | null;
  metadata: Record<string, string>;
  capabilities: Partial<Record<Capability, CapabilityStatus>>;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  version: number;
}

/** The country an account is created in (Stripe's default: the platform's), checked against those served. */
export function accountCountry(requested: string | undefined, platform_country: string): string {
  const country = requested ?? platform_country;
  if (COUNTRY_CURRENCIES[country] === undefined)
    throw new PayrailError('parameter_invalid', {
      param: 'country',
      message: `Country '${/^[A-Za-z]{2}$/.test(country) ? country : '…'}' is unknown or not served. Use a 2-character ISO country code such as US, GB or DE.`,
    });
  return country;
}

/**
 * Capabilities after a request: Standard accounts have card payments and transfers from the start;
 * Express and Custom ones have what is requested, and must request transfers (Stripe requires a
 * capability, and card payments without transfers cannot be paid out).
 */
export function capabilitiesAfter(
  type: AccountType,
  current: Partial<Record<Capability, CapabilityStatus>>,
  requests: CapabilityRequests | undefined,
): Partial<Record<Capability, CapabilityStatus>> {
  if (type === 'standard') {
    if (requests !== undefined)
      throw new PayrailError('parameter_invalid', {
        param: 'capabilities',
        message: 'Capabilities cannot be requested for Standard accounts: they manage their own.',
      });
    return { card_payments: 'active', transfers: 'active' };
  }
  const next = { ...current };
  for (const capability of CAPABILITIES) {
    const requested = requests?.[capability]?.requested;
    if (requested === true) next[capability] = 'active';
    if (requested === false) next[capability] = 'inactive';
  }
  if (next.transfers !== 'active')
    throw new PayrailError('parameter_invalid', {
      param: 'capabilities[transfers][requested]',
      message: `${type === 'custom' ? 'Custom' : 'Express'} accounts must request the transfers capability (alone or with card_payments).`,
    });
  return next;
}

/** Stripe's flags follow the capabilities: charges need card payments, payouts need transfers. */
export function enabledFlags(capabilities: Partial<Record<Capability, CapabilityStatus>>): { charges_enabled: boolean; payouts_enabled: boolean } {
  return { charges_enabled: capabilities.card_payments === 'active', payouts_enabled: capabilities.transfers === 'active' };
}

/** Metadata after an update: a key set to null is removed, `metadata=''` (null) clears all. */
export function mergeMetadata(current: Record<string, string>, change: Record<string, string | null> | null): Record<string, string> {
  if (change === null) return {};
  const merged = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(change)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  return Object.fromEntries(merged);
}

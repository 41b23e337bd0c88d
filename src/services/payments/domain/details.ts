/** Value shapes several payments objects share, as Stripe documents them. */

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface Shipping {
  address: Address;
  carrier: string | null;
  name: string;
  phone: string | null;
  tracking_number: string | null;
}

export interface AutomaticPaymentMethods {
  enabled: boolean;
  allow_redirects: 'always' | 'never';
}

export type FutureUsage = 'off_session' | 'on_session';

/** `payment_method_options[card]`: the parts Payrail's card processing honours. */
export interface CardOptions {
  request_three_d_secure: 'automatic';
  /** `manual` here makes a card attempt authorize only, whatever the intent's own capture_method. */
  capture_method: 'manual' | null;
  setup_future_usage: FutureUsage | 'none' | null;
}

export const DEFAULT_CARD_OPTIONS: CardOptions = { request_three_d_secure: 'automatic', capture_method: null, setup_future_usage: null };

/** The payment method types Payrail processes. */
export const PAYMENT_METHOD_TYPES = ['card'] as const;

export function emptyAddress(): Address {
  return { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };
}

/** The platform's statement descriptor prefix: a charge's descriptor is it, the intent's own, or it with the suffix. */
const STATEMENT_DESCRIPTOR_PREFIX = 'PAYRAIL';

export function calculatedStatementDescriptor(descriptor: string | null, suffix: string | null): string {
  if (descriptor) return descriptor;
  if (suffix) return `${STATEMENT_DESCRIPTOR_PREFIX}* ${suffix}`.slice(0, 22);
  return STATEMENT_DESCRIPTOR_PREFIX;
}

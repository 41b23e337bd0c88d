/**
 * Stripe's `bank_account` as a payout destination, and Stripe's test bank numbers. Pure: the account
 * number is checked here and then leaves for the vault; only its last four digits and a keyed
 * fingerprint stay beside the rest of the account.
 */

/** The failure codes of Stripe's test bank numbers (Stripe's docs, "Testing payouts"). */
export const PAYOUT_FAILURE_CODES = ['no_account', 'account_closed', 'insufficient_funds', 'debit_not_authorized', 'invalid_currency'] as const;
export type PayoutFailureCode = (typeof PAYOUT_FAILURE_CODES)[number];

/** Stripe's messages for those codes, shown in `failure_message`. */
export const PAYOUT_FAILURE_MESSAGES: Readonly<Record<PayoutFailureCode, string>> = {
  no_account: 'The bank account details on file are probably incorrect. No bank account could be located with those details.',
  account_closed: 'The bank account has been closed.',
  insufficient_funds: 'Your Stripe account has insufficient funds to cover the payout.',
  debit_not_authorized: 'Debit transactions are not approved on the bank account.',
  invalid_currency: 'The bank was unable to process this payout because of its currency.',
};

/** Stripe's US test routing number, and its test account numbers with what a payout to them does. */
export const TEST_ROUTING_NUMBER = '110000000';
export const TEST_ACCOUNT_NUMBERS: Readonly<Record<string, PayoutFailureCode | 'paid'>> = {
  '000123456789': 'paid',
  '000111111116': 'no_account',
  '000111111113': 'account_closed',
  '000222222227': 'insufficient_funds',
  '000333333335': 'debit_not_authorized',
  '000444444440': 'invalid_currency',
};

/** Stripe's test bank account tokens (`external_account=btok_…`), each standing for a test number above. */
export const TEST_BANK_TOKENS: Readonly<Record<string, string>> = {
  btok_us_verified: '000123456789',
  btok_us_verified_noAccount: '000111111116',
  btok_us_verified_accountClosed: '000111111113',
  btok_us_verified_insufficientFunds: '000222222227',
  btok_us_verified_debitNotAuthorized: '000333333335',
  btok_us_verified_invalidCurrency: '000444444440',
};

export const BANK_ACCOUNT_LIMITS = {
  /** Bank accounts per merchant (Stripe allows a handful per currency; this bounds lists and the account object). */
  per_merchant: 20,
  account_number_min: 4,
  account_number_max: 17,
} as const;

export interface BankAccountInput {
  country: string;
  currency: string;
  routing_number: string;
  account_number: string;
  account_holder_name: string | null;
  account_holder_type: 'individual' | 'company' | null;
  metadata: Record<string, string>;
}

/** A bank account as stored outside the vault: never the account number. */
export interface BankAccount {
  id: string;
  merchant_id: string;
  created: number;
  country: string;
  currency: string;
  routing_number: string;
  last4: string;
  fingerprint: string;
  account_holder_name: string | null;
  account_holder_type: 'individual' | 'company' | null;
  default_for_currency: boolean;
  metadata: Record<string, string>;
  version: number;
}

/** The countries Payrail's bank rail (and Stripe's test numbers) cover, with their currency. */
export const BANK_COUNTRIES: Readonly<Record<string, string>> = { US: 'usd' };

/** Why the input cannot be a bank account, as [param, message]; null when it can. */
export function bankAccountProblem(input: Pick<BankAccountInput, 'country' | 'currency' | 'routing_number' | 'account_number'>): [string, string] | null {
  const currency = BANK_COUNTRIES[input.country];
  if (currency === undefined) return ['external_account[country]', `Payrail pays out to bank accounts in ${Object.keys(BANK_COUNTRIES).join(', ')} only.`];
  if (input.currency !== currency) return ['external_account[currency]', `A bank account in ${input.country} is paid in ${currency}.`];
  if (!/^\d{9}$/.test(input.routing_number) || !isAbaChecksumValid(input.routing_number))
    return ['external_account[routing_number]', 'Routing number must have 9 digits and a valid checksum.'];
  const { account_number_min: min, account_number_max: max } = BANK_ACCOUNT_LIMITS;
  if (!new RegExp(`^\\d{${min},${max}}$`).test(input.account_number))
    return ['external_account[account_number]', `Account number must be ${min} to ${max} digits.`];
  return null;
}

/** The ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isAbaChecksumValid(routing: string): boolean {
  const d = [...routing].map(Number);
  const sum = 3 * ((d[0] ?? 0) + (d[3] ?? 0) + (d[6] ?? 0)) + 7 * ((d[1] ?? 0) + (d[4] ?? 0) + (d[7] ?? 0)) + ((d[2] ?? 0) + (d[5] ?? 0) + (d[8] ?? 0));
  return sum % 10 === 0;
}

/** Payrail asks nothing more of a bank account than its details. */
const NO_REQUIREMENTS = { currently_due: [], errors: [], past_due: [], pending_verification: [] };

export function renderBankAccount(account: BankAccount): Record<string, unknown> {
  return {
    id: account.id,
    object: 'bank_account',
    account: account.merchant_id,
    account_holder_name: account.account_holder_name,
    account_holder_type: account.account_holder_type,
    account_type: null,
    available_payout_methods: ['standard'],
    bank_name: account.routing_number === TEST_ROUTING_NUMBER ? 'STRIPE TEST BANK' : null,
    country: account.country,
    currency: account.currency,
    customer: null,
    default_for_currency: account.default_for_currency,
    fingerprint: account.fingerprint,
    future_requirements: NO_REQUIREMENTS,
    last4: account.last4,
    metadata: account.metadata,
    requirements: NO_REQUIREMENTS,
    routing_number: account.routing_number,
    status: 'new',
  };
}

/**
 * The chart of accounts. Every merchant has one account of each code per currency it has moved
 * money in; accounts open on first use. Each code states its normal balance: the side (debit or
 * credit) on which its balance grows. Balances are reported in that direction, so a positive
 * `merchant_available` is money Payrail owes the merchant and a negative one is money the merchant
 * owes (after refunds, as in Stripe).
 */
export const ACCOUNT_CODES = [
  'processor_receivable',
  'merchant_pending',
  'merchant_available',
  'platform_fees',
  'refunds_in_flight',
  'payouts_in_transit',
  'settlement_cash',
  'processor_fees',
  'processor_fee_variance',
  // Connect (docs/connect.md): money between a platform and its connected accounts meets here.
  'connect_transfers',
  // FX (docs/currencies.md): a conversion's two legs meet here, one per currency; the conversion fee is revenue.
  'fx_clearing',
  'fx_fees',
] as const;

export type AccountCode = (typeof ACCOUNT_CODES)[number];
export type NormalBalance = 'debit' | 'credit';

export interface AccountSpec {
  normal: NormalBalance;
  type: 'asset' | 'liability' | 'revenue' | 'expense';
  meaning: string;
}

export const CHART: Readonly<Record<AccountCode, AccountSpec>> = {
  processor_receivable: { normal: 'debit', type: 'asset', meaning: 'captured funds the card processor owes Payrail, less refunds it paid out' },
  merchant_pending: { normal: 'credit', type: 'liability', meaning: "the merchant's captured funds (net of fees) not yet past the settlement delay" },
  merchant_available: {
    normal: 'credit',
    type: 'liability',
    meaning: "the merchant's funds available for payout; refunds draw on it and may take it negative",
  },
  platform_fees: { normal: 'credit', type: 'revenue', meaning: "fees Payrail earned on this merchant's payments" },
  refunds_in_flight: { normal: 'credit', type: 'liability', meaning: 'refunds taken from the merchant and not yet paid out by the processor' },
  payouts_in_transit: {
    normal: 'credit',
    type: 'liability',
    meaning: "payouts taken from the merchant's balance and not yet arrived at its bank (settlement service)",
  },
  settlement_cash: {
    normal: 'debit',
    type: 'asset',
    meaning: "money the processor settled into Payrail's bank account and not yet paid out to the merchant",
  },
  processor_fees: { normal: 'debit', type: 'expense', meaning: "fees the processor kept from its settlements for this merchant's payments" },
  processor_fee_variance: {
    normal: 'debit',
    type: 'expense',
    meaning: "what the processor kept beyond its contract's fees (below, when negative), accepted by reconciliation within its tolerance",
  },
  connect_transfers: {
    normal: 'debit',
    type: 'asset',
    meaning:
      'clearing between a platform and its connected accounts: what a connected account received from its platform (positive) or a platform sent (negative); zero per currency summed over a platform and its connected accounts',
  },
  fx_clearing: {
    normal: 'debit',
    type: 'asset',
    meaning:
      'the FX position per currency: bought (positive) in the settlement currency, sold (negative) in the presentment one; valued at market rates, the sum across currencies is the FX gain or loss',
  },
  fx_fees: { normal: 'credit', type: 'revenue', meaning: "currency conversion fees Payrail earned on this merchant's converted payments" },
};

export function isAccountCode(value: unknown): value is AccountCode {
  return typeof value === 'string' && (ACCOUNT_CODES as readonly string[]).includes(value);
}

export interface AccountKey {
  merchant_id: string;
  currency: string;
  code: AccountCode;
}

/** Totals posted to an account, TigerBeetle style: both sides kept, never negative. */
export interface AccountTotals extends AccountKey {
  debits_posted: number;
  credits_posted: number;
}

/** The balance in the account's normal direction. */
export function balanceOf(account: Pick<AccountTotals, 'code' | 'debits_posted' | 'credits_posted'>): number {
  return CHART[account.code].normal === 'debit' ? account.debits_posted - account.credits_posted : account.credits_posted - account.debits_posted;
}

/** A map key for an account; ids, currencies and codes are ASCII without NUL. */
export function accountKeyString(key: AccountKey): string {
  return `${key.merchant_id}\u0000${key.currency}\u0000${key.code}`;
}

/**
 * The one order in which accounts are locked or updated, by every writer: (merchant, currency, code)
 * in byte order (PostgreSQL's COLLATE "C"), so two writers can never wait on each other in a cycle.
 */
export function compareAccountKeys(a: AccountKey, b: AccountKey): number {
  return compareBytes(a.merchant_id, b.merchant_id) || compareBytes(a.currency, b.currency) || compareBytes(a.code, b.code);
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

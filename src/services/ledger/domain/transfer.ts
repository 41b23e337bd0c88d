import { assert } from '../../../kernel/assert.js';
import { isIdOf } from '../../../kernel/ids.js';
import { isSupportedCurrency } from '../../../kernel/money.js';
import type { AccountCode, AccountKey, AccountTotals } from './accounts.js';
import { CHART, accountKeyString, balanceOf, compareAccountKeys, isAccountCode } from './accounts.js';

/**
 * Transfers: immutable, balanced sets of postings. A posting's amount is signed: positive debits the
 * account, negative credits it, so a transfer balances when its amounts sum to zero. Pure code: no
 * I/O, no clock; the SQL store and the in-memory book share every rule below.
 */

export const LEDGER_LIMITS = {
  postings_per_transfer_min: 2,
  postings_per_transfer_max: 8,
  /** One posting moves at most this much: far above any card payment, far below 2^53. */
  posting_amount_max: 1_000_000_000_000,
  /** Transfers posted in one call (one database transaction). */
  transfers_per_call_max: 5_000,
  limits_per_transfer_max: 4,
  text_length_max: 255,
} as const;

export const TRANSFER_KINDS = [
  'capture',
  'release',
  'refund',
  'refund_paid',
  'refund_failure',
  'adjustment',
  'payout',
  'payout_paid',
  'payout_failure',
  'payout_cancel',
  'settlement',
  'refund_settlement',
  'processor_fee',
  'chargeback_settlement',
  // Disputes (disputes service): a chargeback's money withdrawn, and returned when it is won.
  'dispute',
  'dispute_reversal',
  // Reconciliation (settlement service, migrations/reconciliation.ts): a processor fee that differs from the contract.
  'processor_fee_adjustment',
  // Connect (connect service, docs/connect.md): each movement is two transfers, one per merchant, through connect_transfers.
  'connect_transfer',
  'connect_payment',
  'connect_transfer_reversal',
  'connect_payment_refund',
  // Destination charges (connect-charges service): an application fee given back to the connected account, both sides.
  'application_fee_refund',
  // A destination charge leg held in merchant_pending, made available after its delay (ledger/app/release.ts).
  'connect_release',
  // FX (docs/currencies.md): the presentment-currency legs of a converted capture, refund and refund failure.
  'fx_capture',
  'fx_refund',
  'fx_refund_failure',
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

export interface Posting {
  account: AccountCode;
  /** Minor units; positive debits, negative credits. Never zero. */
  amount: number;
}

/** After the transfer, `account`'s balance in its normal direction must be at least `floor`. */
export interface BalanceLimit {
  account: AccountCode;
  floor: number;
}

/** What made a transfer: the outbox event (or operation) and its type. */
export interface Cause {
  event_id: string;
  type: string;
}

export interface TransferRequest {
  /** `txn_…`: also the balance transaction's id when the transfer is merchant-visible. */
  id: string;
  merchant_id: string;
  currency: string;
  kind: TransferKind;
  /** The object the money moved for: a charge, a refund, a payout. */
  source_id: string;
  postings: readonly Posting[];
  cause: Cause;
  /** Unix seconds: when the money moved (the cause's time). */
  created: number;
  /** Unix seconds when the merchant's net becomes available; null for transfers the merchant does not see. */
  available_on: number | null;
  /** Checked atomically with the posting; never stored. */
  limits?: readonly BalanceLimit[];
  /** Set on the settlement-currency leg of a conversion: what was converted, at which rate (domain/fx-flows.ts). */
  conversion?: Conversion | null;
}

/** A conversion from the presentment currency, as the balance transaction reports it. */
export interface Conversion {
  from_currency: string;
  /** Minor units of `from_currency`. */
  from_amount: number;
  /** Exact decimal: settlement-currency units per presentment-currency unit (Stripe's exchange_rate). */
  exchange_rate: string;
  quote_id: string;
  /** The part of the transfer's fee that is the conversion fee (fx_fees). */
  fx_fee: number;
}

function sameConversion(a: Conversion | null | undefined, b: Conversion | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return (
    a.from_currency === b.from_currency &&
    a.from_amount === b.from_amount &&
    a.exchange_rate === b.exchange_rate &&
    a.quote_id === b.quote_id &&
    a.fx_fee === b.fx_fee
  );
}

/** A posted transfer, as stored. */
export interface Transfer extends Omit<TransferRequest, 'limits'> {
  /** What the merchant's balance (pending plus available) gained: negative when it lost. */
  net: number;
  /** What platform fees gained. */
  fee: number;
}

/** Result codes read as sentences: what is true of the transfer, or what must be. */
export type TransferResultCode =
  | 'ok'
  | 'exists'
  | 'exists_with_different_fields'
  | 'id_must_be_a_balance_transaction_id'
  | 'merchant_must_be_set'
  | 'currency_must_be_supported'
  | 'kind_must_be_known'
  | 'source_must_be_set'
  | 'cause_must_be_set'
  | 'created_must_be_unix_seconds'
  | 'available_on_must_be_unix_seconds_or_null'
  | 'postings_must_be_at_least_two'
  | 'postings_must_be_at_most_eight'
  | 'posting_account_must_be_in_chart'
  | 'posting_amount_must_be_a_nonzero_integer'
  | 'posting_amount_must_not_exceed_limit'
  | 'postings_must_sum_to_zero'
  | 'limits_must_be_at_most_four'
  | 'limit_must_name_a_posted_account'
  | 'conversion_must_be_valid'
  | 'exceeds_balance_limit';

export interface TransferResult {
  id: string;
  result: TransferResultCode;
}

/** True for results after which the transfer is posted (now or before) with this content. */
export function isPosted(result: TransferResultCode): boolean {
  return result === 'ok' || result === 'exists';
}

/** The checks that need nothing but the request. The database checks balance again on commit. */
export function validateTransfer(request: TransferRequest): TransferResultCode {
  if (!isIdOf('balance_transaction', request.id)) return 'id_must_be_a_balance_transaction_id';
  if (!isShortText(request.merchant_id)) return 'merchant_must_be_set';
  if (!isSupportedCurrency(request.currency)) return 'currency_must_be_supported';
  if (!(TRANSFER_KINDS as readonly string[]).includes(request.kind)) return 'kind_must_be_known';
  if (!isShortText(request.source_id)) return 'source_must_be_set';
  if (!isShortText(request.cause.event_id) || !isShortText(request.cause.type)) return 'cause_must_be_set';
  if (!isUnixSeconds(request.created)) return 'created_must_be_unix_seconds';
  if (request.available_on !== null && !isUnixSeconds(request.available_on)) return 'available_on_must_be_unix_seconds_or_null';
  if (request.postings.length < LEDGER_LIMITS.postings_per_transfer_min) return 'postings_must_be_at_least_two';
  if (request.postings.length > LEDGER_LIMITS.postings_per_transfer_max) return 'postings_must_be_at_most_eight';
  let sum = 0;
  for (const posting of request.postings) {
    if (!isAccountCode(posting.account)) return 'posting_account_must_be_in_chart';
    if (!Number.isSafeInteger(posting.amount) || posting.amount === 0) return 'posting_amount_must_be_a_nonzero_integer';
    if (Math.abs(posting.amount) > LEDGER_LIMITS.posting_amount_max) return 'posting_amount_must_not_exceed_limit';
    sum += posting.amount;
  }
  if (sum !== 0) return 'postings_must_sum_to_zero';
  const limits = request.limits ?? [];
  if (limits.length > LEDGER_LIMITS.limits_per_transfer_max) return 'limits_must_be_at_most_four';
  for (const limit of limits) {
    if (!request.postings.some((p) => p.account === limit.account) || !Number.isSafeInteger(limit.floor)) return 'limit_must_name_a_posted_account';
  }
  if (request.conversion && !isValidConversion(request.conversion, request.currency)) return 'conversion_must_be_valid';
  return 'ok';
}

/**
 * Same content means the same money moved for the same reason: kind, source, currency, postings
 * (in order) and availability. The cause and time are those of the first posting; a later request
 * with the same content but another cause (a second event for one capture) gets `exists`.
 */
export function sameContent(a: Omit<TransferRequest, 'limits'>, b: Omit<TransferRequest, 'limits'>): boolean {
  return (
    a.id === b.id &&
    a.merchant_id === b.merchant_id &&
    a.currency === b.currency &&
    a.kind === b.kind &&
    a.source_id === b.source_id &&
    a.available_on === b.available_on &&
    sameConversion(a.conversion, b.conversion) &&
    a.postings.length === b.postings.length &&
    a.postings.every((p, i) => p.account === b.postings[i]?.account && p.amount === b.postings[i]?.amount)
  );
}

/** The merchant-facing view of postings: its balance's gain (net) and the fees Payrail took (processing and conversion). */
export function balanceEffect(postings: readonly Posting[]): { net: number; fee: number } {
  let net = 0;
  let fee = 0;
  for (const posting of postings) {
    // Both merchant accounts and the fee account are credit-normal: a credit (negative) is a gain.
    if (posting.account === 'merchant_pending' || posting.account === 'merchant_available') net -= posting.amount;
    // A conversion fee is part of the fee the merchant paid (its own fee_details line).
    if (posting.account === 'platform_fees' || posting.account === 'fx_fees') fee -= posting.amount;
  }
  return { net, fee };
}

export function toTransfer(request: TransferRequest): Transfer {
  const { limits: _limits, ...stored } = request;
  return { ...stored, postings: request.postings.map((p) => ({ ...p })), ...balanceEffect(request.postings) };
}

/** Debits and credits a set of transfers adds per account, in lock order. */
export function accountDeltas(transfers: readonly TransferRequest[]): AccountTotals[] {
  const totals = new Map<string, AccountTotals>();
  for (const transfer of transfers) {
    for (const posting of transfer.postings) {
      const key: AccountKey = { merchant_id: transfer.merchant_id, currency: transfer.currency, code: posting.account };
      const id = accountKeyString(key);
      const entry = totals.get(id) ?? { ...key, debits_posted: 0, credits_posted: 0 };
      if (posting.amount > 0) entry.debits_posted += posting.amount;
      else entry.credits_posted -= posting.amount;
      totals.set(id, entry);
    }
  }
  return [...totals.values()].sort(compareAccountKeys);
}

/**
 * Applies valid, new transfers in order to `accounts` (changed in place), checking each transfer's
 * limits against the balances left by the ones before it. Returns one result per transfer; only
 * `ok` ones were applied. Accounts missing from the map start at zero.
 */
export function applyInOrder(accounts: Map<string, AccountTotals>, transfers: readonly TransferRequest[]): TransferResultCode[] {
  return transfers.map((transfer) => {
    const touched = accountDeltas([transfer]);
    const after = touched.map((delta) => {
      const current = accounts.get(accountKeyString(delta)) ?? { ...delta, debits_posted: 0, credits_posted: 0 };
      return { ...current, debits_posted: current.debits_posted + delta.debits_posted, credits_posted: current.credits_posted + delta.credits_posted };
    });
    for (const limit of transfer.limits ?? []) {
      const account = after.find((a) => a.code === limit.account);
      assert(account !== undefined, 'a validated limit names a posted account');
      if (balanceOf(account) < limit.floor) return 'exceeds_balance_limit';
    }
    for (const account of after) accounts.set(accountKeyString(account), account);
    return 'ok';
  });
}

/** Asserts what validation promised, before anything is written: a failure here is a bug. */
export function assertBalanced(transfer: TransferRequest): void {
  const sum = transfer.postings.reduce((total, p) => total + p.amount, 0);
  assert(sum === 0, `transfer ${transfer.id}: postings sum to ${sum}, not zero`);
  assert(transfer.postings.length >= LEDGER_LIMITS.postings_per_transfer_min, `transfer ${transfer.id}: fewer than two postings`);
  for (const p of transfer.postings) assert(CHART[p.account] !== undefined && p.amount !== 0, `transfer ${transfer.id}: bad posting`);
}

/** A rate as the fx service writes it: a plain positive decimal (fx/domain/convert.ts). */
const EXACT_DECIMAL = /^\d{1,18}(\.\d{1,18})?$/;

function isValidConversion(conversion: Conversion, currency: string): boolean {
  return (
    isSupportedCurrency(conversion.from_currency) &&
    conversion.from_currency !== currency &&
    Number.isSafeInteger(conversion.from_amount) &&
    conversion.from_amount > 0 &&
    conversion.from_amount <= LEDGER_LIMITS.posting_amount_max &&
    EXACT_DECIMAL.test(conversion.exchange_rate) &&
    isShortText(conversion.quote_id) &&
    Number.isSafeInteger(conversion.fx_fee) &&
    conversion.fx_fee >= 0
  );
}

function isShortText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= LEDGER_LIMITS.text_length_max;
}

function isUnixSeconds(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) < 100_000_000_000;
}

export interface BatchPlan {
  results: TransferResult[];
  /** New transfers to write, in request order. */
  accepted: TransferRequest[];
}

export function transferKey(transfer: { merchant_id: string; id: string }): string {
  return `${transfer.merchant_id}\u0000${transfer.id}`;
}

/**
 * Decides a batch: validation, idempotency (against transfers already posted and earlier ones in
 * the batch) and, when `accounts` holds the locked balances, limits in order. Without `accounts`
 * the batch must have no limits. The SQL store and the in-memory book both post through this.
 */
export function planBatch(
  requests: readonly TransferRequest[],
  existing: ReadonlyMap<string, Transfer>,
  accounts: Map<string, AccountTotals> | null,
): BatchPlan {
  assert(requests.length <= LEDGER_LIMITS.transfers_per_call_max, `at most ${LEDGER_LIMITS.transfers_per_call_max} transfers per call`);
  const accepted = new Map<string, TransferRequest>();
  const results = requests.map((request): TransferResult => {
    const valid = validateTransfer(request);
    if (valid !== 'ok') return { id: request.id, result: valid };
    const key = transferKey(request);
    const prior = existing.get(key) ?? accepted.get(key);
    if (prior) return { id: request.id, result: sameContent(prior, request) ? 'exists' : 'exists_with_different_fields' };
    if (accounts === null) {
      assert((request.limits ?? []).length === 0, 'a batch with limits needs the locked balances');
    } else {
      const [result] = applyInOrder(accounts, [request]);
      assert(result !== undefined, 'one result per transfer');
      if (result !== 'ok') return { id: request.id, result };
    }
    assertBalanced(request);
    accepted.set(key, request);
    return { id: request.id, result: 'ok' };
  });
  return { results, accepted: [...accepted.values()] };
}

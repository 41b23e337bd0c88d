/**
 * How the sandbox processor settles, as an acquirer does: each UTC day is one settlement batch; every
 * capture of the day is a `Settled` line, every refund paid that day a `Refunded` line, each with the
 * processor's fees, every chargeback raised that day a `Chargeback` line; each merchant account's batch closes with a `MerchantPayout` line paying the net
 * into Payrail's bank (docs/settlement.md). Pure: amounts in, lines out; adapters/sandbox-settlement.ts
 * reads the sandbox's records and writes the CSV.
 *
 * The sandbox fee schedule, in integer minor units of the payment's currency (interchange++ pricing,
 * as Adyen quotes it): each percentage is `gross × bps / 10 000` rounded half up.
 *
 * | fee | on a capture | on a refund |
 * |---|---|---|
 * | Interchange (card issuer) | 1.50 % | — |
 * | Scheme Fees (card network) | 0.13 % | — |
 * | Markup (acquirer) | 0.20 % | — |
 * | Commission (acquirer, per transaction) | 12 | 12 |
 *
 * A chargeback carries no fee in the sandbox.
 *
 * On 20.00 USD: interchange 30 + scheme fees 3 + markup 4 + commission 12 = 49, so 19.51 is settled;
 * Payrail's default fee on it is 88 (2.9 % + 30), its margin 39.
 */
export const SANDBOX_FEE_SCHEDULE = {
  interchange_bps: 150,
  scheme_fees_bps: 13,
  markup_bps: 20,
  commission_fixed: 12,
  refund_commission_fixed: 12,
} as const;

export interface ProcessorFees {
  interchange: number;
  scheme_fees: number;
  markup: number;
  commission: number;
}

export function sandboxCaptureFees(gross: number): ProcessorFees {
  return {
    interchange: percentOf(gross, SANDBOX_FEE_SCHEDULE.interchange_bps),
    scheme_fees: percentOf(gross, SANDBOX_FEE_SCHEDULE.scheme_fees_bps),
    markup: percentOf(gross, SANDBOX_FEE_SCHEDULE.markup_bps),
    commission: SANDBOX_FEE_SCHEDULE.commission_fixed,
  };
}

/** The sandbox charges no fee on a chargeback: the line takes back the disputed amount only. */
export const NO_FEES: ProcessorFees = { interchange: 0, scheme_fees: 0, markup: 0, commission: 0 };

export function sandboxRefundFees(): ProcessorFees {
  return { interchange: 0, scheme_fees: 0, markup: 0, commission: SANDBOX_FEE_SCHEDULE.refund_commission_fixed };
}

export function totalFees(fees: ProcessorFees): number {
  return fees.interchange + fees.scheme_fees + fees.markup + fees.commission;
}

/** Rounded half up, in integers (gross ≤ 10^8 and bps ≤ 10^4 stay far below 2^53). */
function percentOf(gross: number, bps: number): number {
  return Math.floor((gross * bps + 5_000) / 10_000);
}

/** A batch date (UTC day) as `YYYY-MM-DD`: its first and last millisecond, and its batch number. */
export interface BatchDay {
  start_ms: number;
  end_ms: number;
  /** Days since 1970-01-01, plus one: batches are numbered in order, one per day. */
  batch_number: number;
}

const DAY_MS = 86_400_000;
const BATCH_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function batchDay(batch_date: string): BatchDay | undefined {
  const parts = BATCH_DATE.exec(batch_date);
  if (!parts) return undefined;
  const start_ms = Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]));
  if (new Date(start_ms).toISOString().slice(0, 10) !== batch_date) return undefined;
  return { start_ms, end_ms: start_ms + DAY_MS, batch_number: start_ms / DAY_MS + 1 };
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, the report's Creation Date. */
export function creationDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

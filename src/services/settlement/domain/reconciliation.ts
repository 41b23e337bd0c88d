import { createHash } from 'node:crypto';
import { assert } from '../../../kernel/assert.js';
import type { SettlementLine } from './settlement-report.js';

/**
 * Reconciliation, as pure decisions: a processor's settlement report line against Payrail's record
 * of the same money (a charge or refund, as payments and the ledger hold it). Each line gets one
 * verdict: matched, not for matching (batch-level lines: fees, payouts), or one exception class.
 * docs/settlement.md ("Reconciliation") lists each class with its remediation rule.
 */

export const EXCEPTION_CLASSES = [
  'missing_in_payrail',
  'missing_at_processor',
  'amount_mismatch',
  'currency_mismatch',
  'fee_mismatch',
  'duplicate',
  'settled_late',
] as const;
export type ExceptionClass = (typeof EXCEPTION_CLASSES)[number];

/** What became of an exception: fixed by its documented rule at once, or left for a person. */
export type ExceptionStatus = 'auto_fixed' | 'open';

export const RECONCILIATION_RULES = {
  /**
   * A fee the processor kept that differs from its contract by at most this many minor units is
   * accepted and booked as a fee adjustment (processor_fees to processor_fee_variance); a larger one stays open.
   */
  fee_tolerance_minor: 25,
  /** A record the processor has not settled this many days after it was due is missing at the processor. */
  missing_after_days: 2,
} as const;

/** The fields of a settlement report line that reconciliation reads. */
export type ReportLine = Pick<
  SettlementLine,
  | 'line'
  | 'merchant_account'
  | 'psp_reference'
  | 'merchant_reference'
  | 'modification_merchant_reference'
  | 'type'
  | 'gross_currency'
  | 'gross_debit'
  | 'gross_credit'
  | 'net_currency'
  | 'net_debit'
  | 'net_credit'
  | 'commission'
  | 'markup'
  | 'scheme_fees'
  | 'interchange'
  | 'batch_number'
>;

/** Payrail's record of one money movement, from payments (amount, state) and the ledger (merchant, currency). */
export interface PayrailRecord {
  kind: 'charge' | 'refund';
  merchant_id: string;
  id: string;
  /** Captured amount of a charge, amount of a refund: minor units. */
  amount: number;
  currency: string;
  /** The report day (YYYY-MM-DD, UTC) the processor settles it in. */
  settles_on: string;
  /** What ledger verify would say of it (ledger domain's chargeProblem / refundProblem), or null. */
  ledger_problem: string | null;
}

/** Lines that settle one of Payrail's objects, and the kind of object each names. */
const RECORD_LINE_TYPES: Readonly<Partial<Record<SettlementLine['type'], PayrailRecord['kind']>>> = {
  Settled: 'charge',
  Refunded: 'refund',
  RefundedReversed: 'refund',
  Chargeback: 'charge',
  ChargebackReversed: 'charge',
  SecondChargeback: 'charge',
};

/**
 * Chargeback lines are checked against the disputed charge: it must exist, in the line's currency,
 * and the line may take back at most what was captured. They settle whenever the cardholder disputes,
 * so they have no due day (never late), and a charge may be disputed once.
 */
const CHARGEBACK_LINE_TYPES: ReadonlySet<string> = new Set(['Chargeback', 'ChargebackReversed', 'SecondChargeback']);

export function recordKindOf(line: Pick<ReportLine, 'type'>): PayrailRecord['kind'] | null {
  return RECORD_LINE_TYPES[line.type] ?? null;
}

/**
 * The Payrail object a line settles, by its id: a payment's line names the charge as its merchant
 * reference; a refund's names the refund as its modification merchant reference (Adyen's field for a
 * modification's own reference), with the charge as merchant reference.
 */
export function lineReference(line: Pick<ReportLine, 'type' | 'merchant_reference' | 'modification_merchant_reference'>): string {
  return line.type === 'Refunded' || line.type === 'RefundedReversed' ? line.modification_merchant_reference : line.merchant_reference;
}

export type Remedy = { kind: 'fee_adjustment'; amount: number } | { kind: 'matched_late' };

export type Verdict =
  | { outcome: 'matched' }
  | { outcome: 'batch_line' }
  | { outcome: 'exception'; class: ExceptionClass; status: ExceptionStatus; remedy: Remedy | null; detail: string };

export interface LineContext {
  report_date: string;
  /** Where the same reference and type was matched before (another line, or another report), if anywhere. */
  matched_before: { report_id: string; line: number } | null;
  report_id: string;
  /** The fee the processor's contract gives for this line. */
  expected_fee: number;
}

export function processorFee(line: Pick<ReportLine, 'commission' | 'markup' | 'scheme_fees' | 'interchange'>): number {
  return (line.commission ?? 0) + (line.markup ?? 0) + (line.scheme_fees ?? 0) + (line.interchange ?? 0);
}

/** The amount a line moves: the gross credit of a settlement, the gross debit of a refund. */
export function lineAmount(line: ReportLine): number {
  return (line.gross_credit ?? 0) - (line.gross_debit ?? 0);
}

/**
 * One line's verdict. Checks run from the most fundamental: a line with no record, a second line
 * for the same record, then currency (amounts in different currencies do not compare), amount,
 * fee, and last timing. A line gets the first class that applies, so one fault is reported once.
 */
export function classifyLine(line: ReportLine, record: PayrailRecord | undefined, ctx: LineContext): Verdict {
  const kind = recordKindOf(line);
  if (kind === null) return { outcome: 'batch_line' };
  const reference = lineReference(line);
  if (!record || record.kind !== kind) return open('missing_in_payrail', `${line.type} line for ${reference}: Payrail has no such ${kind}`);
  const before = ctx.matched_before;
  if (before && !(before.report_id === ctx.report_id && before.line === line.line))
    return open('duplicate', `${reference} was already settled by line ${before.line} of report ${before.report_id}`);
  if (line.gross_currency !== record.currency || line.net_currency !== record.currency)
    return open('currency_mismatch', `${reference}: the report says ${line.gross_currency}, Payrail ${record.currency}`);
  const amount = Math.abs(lineAmount(line));
  const chargeback = CHARGEBACK_LINE_TYPES.has(line.type);
  if (chargeback ? amount > record.amount : amount !== record.amount)
    return open('amount_mismatch', `${reference}: the report moves ${amount}, Payrail ${chargeback ? 'captured' : 'has'} ${record.amount}`);
  const fee_delta = processorFee(line) - ctx.expected_fee;
  if (fee_delta !== 0) {
    const detail = `${reference}: the processor kept ${processorFee(line)} in fees, its contract says ${ctx.expected_fee}`;
    if (Math.abs(fee_delta) <= RECONCILIATION_RULES.fee_tolerance_minor)
      return { outcome: 'exception', class: 'fee_mismatch', status: 'auto_fixed', remedy: { kind: 'fee_adjustment', amount: fee_delta }, detail };
    return open('fee_mismatch', detail);
  }
  if (!chargeback && record.settles_on < ctx.report_date)
    return {
      outcome: 'exception',
      class: 'settled_late',
      status: 'auto_fixed',
      remedy: { kind: 'matched_late' },
      detail: `${reference} was due in the report of ${record.settles_on} and came in that of ${ctx.report_date}`,
    };
  return { outcome: 'matched' };
}

function open(cls: ExceptionClass, detail: string): Verdict {
  return { outcome: 'exception', class: cls, status: 'open', remedy: null, detail };
}

/** A record that was due `missing_after_days` ago and no report has settled. */
export function missingAtProcessor(record: PayrailRecord, as_of: string): Verdict {
  return open(
    'missing_at_processor',
    `${record.kind} ${record.id} (${record.amount} ${record.currency}) was due in the report of ${record.settles_on}; none up to ${as_of} settled it`,
  );
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_HASH_CHARS = 24;

function derivedId(prefix: string, key: string): string {
  const digest = createHash('sha256').update(key).digest();
  let body = '';
  for (let i = 0; i < ID_HASH_CHARS; i++) body += ALPHABET[(digest[i] ?? 0) % 32];
  return `${prefix}_${body}`;
}

/** A report's reconciliation run: one per report, so re-running it finds the same run. */
export function runId(report_id: string): string {
  return derivedId('rcrun', report_id);
}

/**
 * An exception's id: derived from what it is about, so re-running a report finds the same
 * exceptions, and a fee adjustment keyed by it is booked once.
 */
export function lineExceptionId(report_id: string, line: number, cls: ExceptionClass): string {
  return derivedId('rcx', `${cls}:${report_id}:${line}`);
}

export function recordExceptionId(cls: ExceptionClass, merchant_id: string, record_id: string): string {
  return derivedId('rcx', `${cls}:${merchant_id}:${record_id}`);
}

/** YYYY-MM-DD of a unix time, in UTC. */
export function dayOf(unix_s: number): string {
  return new Date(unix_s * 1000).toISOString().slice(0, 10);
}

/** The day `days` after `day` (negative: before). */
export function addDays(day: string, days: number): string {
  assert(isDay(day), `${day} is not a YYYY-MM-DD day`);
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export function isDay(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
}

/** Unix seconds at 00:00 UTC of a day. */
export function dayStart(day: string): number {
  assert(isDay(day), `${day} is not a YYYY-MM-DD day`);
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

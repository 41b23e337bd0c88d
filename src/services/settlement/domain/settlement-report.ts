import { currencyInfo } from '../../../kernel/money.js';
import type { SettlementReportColumn } from '../../connectors/index.js';

/**
 * The processor settlement report: Adyen's Settlement details report (one CSV per settlement batch,
 * https://docs.adyen.com/reporting/settlement-detail-report), its 23 standard columns in Adyen's
 * order. A report lists what the processor settled in one batch, line by line: each payment it
 * settled (`Settled`), refund (`Refunded`), chargeback, fee, and at the end the `MerchantPayout` that
 * paid the batch's net into the bank account. Pure code: the CSV reading and writing is in
 * adapters/settlement-report-csv.ts; this file turns one CSV record into a typed line and back.
 *
 * Amounts in the CSV are decimals in major units ("12.34"), in separate debit and credit columns,
 * never negative. A `SettlementLine` holds them as integer minor units, converted by the currency's
 * exponent from the kernel's table with string arithmetic only (never a float): "12.34" USD is 1234,
 * "1234" JPY is 1234, "1.234" KWD is 1234. More decimals than the currency has is refused.
 * The columns themselves are the connectors' (one list the sandbox writes and this reads).
 */
export type { SettlementReportColumn } from '../../connectors/index.js';
export { SETTLEMENT_REPORT_COLUMNS } from '../../connectors/index.js';

/** Adyen's journal types that may appear in a Settlement details report. */
export const SETTLEMENT_LINE_TYPES = [
  'Settled',
  'Refunded',
  'Chargeback',
  'ChargebackReversed',
  'SecondChargeback',
  'RefundedReversed',
  'Fee',
  'MiscCosts',
  'MerchantPayout',
  'DepositCorrection',
  'InvoiceDeduction',
  'Balancetransfer',
] as const;
export type SettlementLineType = (typeof SETTLEMENT_LINE_TYPES)[number];

export const SETTLEMENT_REPORT_LIMITS = {
  /** Characters in one text field (Adyen's widest is 80; merchant references may be longer elsewhere). */
  text_length_max: 255,
  /** Lines in one report (a batch of a very large merchant stays far below). */
  lines_max: 5_000_000,
  /** Digits before the decimal point: 10^12 in a zero-decimal currency has 13. */
  integer_digits_max: 13,
  /** The ledger's largest posting, in minor units: no line of a report can be larger. */
  amount_max: 1_000_000_000_000,
} as const;

/** One line of a report: the CSV record, typed. Amounts are minor units; null where the CSV is empty. */
export interface SettlementLine {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  company_account: string;
  merchant_account: string;
  psp_reference: string;
  merchant_reference: string;
  payment_method: string;
  /** `YYYY-MM-DD HH:MM:SS` in `time_zone`, as in the file. */
  creation_date: string;
  time_zone: string;
  type: SettlementLineType;
  modification_reference: string;
  /** Lower-case ISO 4217, as everywhere in Payrail; empty for batch-level lines (fees, payouts). */
  gross_currency: string;
  gross_debit: number | null;
  gross_credit: number | null;
  /** A decimal kept as written ("1", "1.0843"): only ever compared, never multiplied here. */
  exchange_rate: string;
  net_currency: string;
  net_debit: number | null;
  net_credit: number | null;
  commission: number | null;
  markup: number | null;
  scheme_fees: number | null;
  interchange: number | null;
  payment_method_variant: string;
  modification_merchant_reference: string;
  batch_number: number;
}

/** A report refused whole: the line it failed at (1-based; 0 when the file as a whole is wrong) and why. */
export class SettlementReportError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `settlement report line ${line}: ${reason}` : `settlement report: ${reason}`);
    this.name = 'SettlementReportError';
  }
}

const CREATION_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const EXCHANGE_RATE = /^\d{1,6}(\.\d{1,10})?$/;
const BATCH_NUMBER = /^[1-9]\d{0,8}$/;
const CURRENCY = /^[A-Z]{3}$/;

/** Converts a record (column name → text) to a line, or throws SettlementReportError naming `line`. */
export function toSettlementLine(record: Readonly<Record<string, string>>, line: number): SettlementLine {
  const text = (column: SettlementReportColumn): string => {
    const value = record[column];
    if (value === undefined) throw new SettlementReportError(line, `column "${column}" is missing`);
    if (value.length > SETTLEMENT_REPORT_LIMITS.text_length_max)
      throw new SettlementReportError(line, `"${column}" is longer than ${SETTLEMENT_REPORT_LIMITS.text_length_max} characters`);
    return value;
  };
  const type = text('Type');
  if (!(SETTLEMENT_LINE_TYPES as readonly string[]).includes(type))
    throw new SettlementReportError(line, `"Type" ${JSON.stringify(type)} is not a settlement journal type`);
  const creation_date = text('Creation Date');
  if (!CREATION_DATE.test(creation_date)) throw new SettlementReportError(line, '"Creation Date" must be YYYY-MM-DD HH:MM:SS');
  const exchange_rate = text('Exchange Rate');
  if (exchange_rate !== '' && !EXCHANGE_RATE.test(exchange_rate)) throw new SettlementReportError(line, '"Exchange Rate" must be a decimal');
  const batch = text('Batch Number');
  if (!BATCH_NUMBER.test(batch)) throw new SettlementReportError(line, '"Batch Number" must be a positive integer');
  const gross_currency = currency(text('Gross Currency'), 'Gross Currency', line);
  const net_currency = currency(text('Net Currency'), 'Net Currency', line);
  const gross = (column: SettlementReportColumn) => amount(text(column), gross_currency, column, line);
  const net = (column: SettlementReportColumn) => amount(text(column), net_currency, column, line);
  return {
    line,
    company_account: text('Company Account'),
    merchant_account: text('Merchant Account'),
    psp_reference: text('Psp Reference'),
    merchant_reference: text('Merchant Reference'),
    payment_method: text('Payment Method'),
    creation_date,
    time_zone: text('TimeZone'),
    type: type as SettlementLineType,
    modification_reference: text('Modification Reference'),
    gross_currency,
    gross_debit: gross('Gross Debit (GC)'),
    gross_credit: gross('Gross Credit (GC)'),
    exchange_rate,
    net_currency,
    net_debit: net('Net Debit (NC)'),
    net_credit: net('Net Credit (NC)'),
    commission: net('Commission (NC)'),
    markup: net('Markup (NC)'),
    scheme_fees: net('Scheme Fees (NC)'),
    interchange: net('Interchange (NC)'),
    payment_method_variant: text('Payment Method Variant'),
    modification_merchant_reference: text('Modification Merchant Reference'),
    batch_number: Number(batch),
  };
}

/** The CSV record of a line, columns in the report's order: the inverse of `toSettlementLine`. */
export function toSettlementRecord(line: SettlementLine): string[] {
  const major = (minor: number | null, code: string) => (minor === null ? '' : toMajorUnits(minor, code));
  return [
    line.company_account,
    line.merchant_account,
    line.psp_reference,
    line.merchant_reference,
    line.payment_method,
    line.creation_date,
    line.time_zone,
    line.type,
    line.modification_reference,
    line.gross_currency.toUpperCase(),
    major(line.gross_debit, line.gross_currency),
    major(line.gross_credit, line.gross_currency),
    line.exchange_rate,
    line.net_currency.toUpperCase(),
    major(line.net_debit, line.net_currency),
    major(line.net_credit, line.net_currency),
    major(line.commission, line.net_currency),
    major(line.markup, line.net_currency),
    major(line.scheme_fees, line.net_currency),
    major(line.interchange, line.net_currency),
    line.payment_method_variant,
    line.modification_merchant_reference,
    String(line.batch_number),
  ];
}

/** "12.3" in a two-decimal currency is 1230; more decimals than the currency has are refused. */
export function toMinorUnits(decimal: string, code: string): number | undefined {
  const exponent = currencyInfo(code)?.exponent;
  const parts = DECIMAL.exec(decimal);
  if (exponent === undefined || !parts) return undefined;
  const whole = parts[1] ?? '';
  const fraction = parts[2] ?? '';
  if (whole.length > SETTLEMENT_REPORT_LIMITS.integer_digits_max || fraction.length > exponent) return undefined;
  const minor = Number(whole + fraction.padEnd(exponent, '0'));
  return minor <= SETTLEMENT_REPORT_LIMITS.amount_max ? minor : undefined;
}

/** 1230 in a two-decimal currency is "12.30"; in a zero-decimal one, "1230". */
export function toMajorUnits(minor: number, code: string): string {
  const exponent = currencyInfo(code)?.exponent;
  if (exponent === undefined || !Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`cannot write ${minor} ${code}`);
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** The minor-unit amount of a column, null when empty; needs the column's currency. */
function amount(value: string, code: string, column: SettlementReportColumn, line: number): number | null {
  if (value === '') return null;
  if (code === '') throw new SettlementReportError(line, `"${column}" has an amount but its currency column is empty`);
  const minor = toMinorUnits(value, code);
  if (minor === undefined) throw new SettlementReportError(line, `"${column}" ${JSON.stringify(value)} is not an amount in ${code.toUpperCase()}`);
  return minor;
}

function currency(value: string, column: SettlementReportColumn, line: number): string {
  if (value === '') return '';
  if (!CURRENCY.test(value) || currencyInfo(value.toLowerCase()) === undefined)
    throw new SettlementReportError(line, `"${column}" ${JSON.stringify(value)} is not a supported ISO 4217 currency`);
  return value.toLowerCase();
}

/** Payouts close a batch: once one is seen, only payouts may follow, and a report must have one. */
export function isPayout(line: Pick<SettlementLine, 'type'>): boolean {
  return line.type === 'MerchantPayout';
}

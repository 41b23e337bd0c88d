import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { SettlementLine } from '../domain/settlement-report.js';
import {
  SETTLEMENT_REPORT_COLUMNS,
  SETTLEMENT_REPORT_LIMITS,
  SettlementReportError,
  isPayout,
  toSettlementLine,
  toSettlementRecord,
} from '../domain/settlement-report.js';

/**
 * Reads and writes Adyen's Settlement details report CSV (domain/settlement-report.ts) with csv-parse
 * and csv-stringify, streaming: a report of millions of lines is read chunk by chunk.
 *
 * A report is refused whole, naming the line, when any line is malformed, and when it looks cut short,
 * which a CSV parser alone cannot see. A report is one batch, closed by its payouts, so:
 * - every line carries the same Batch Number (a value cut inside the last line differs);
 * - the report ends with its `MerchantPayout` lines (only payouts after the first one, at least one),
 *   one for every merchant account with lines (a cut between two accounts' payout lines drops one);
 * - the file ends with a line break (a file cut inside a line does not).
 * The iteration yields lines as they are read and throws at the first problem or at the end: a caller
 * applies nothing before the iteration has finished (the importer stages lines in one transaction).
 */
export type ReportSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/** Longest CSV record accepted, in characters: 23 fields of at most 255 characters and their quoting. */
const RECORD_SIZE_MAX = 23 * (2 * SETTLEMENT_REPORT_LIMITS.text_length_max + 3);

export async function* parseSettlementReport(source: ReportSource): AsyncGenerator<SettlementLine> {
  const tail = { last_char: '' };
  const input = Readable.from(trackLastChar(source, tail), { objectMode: false });
  const parser = parse({ columns: checkHeader, info: true, bom: true, max_record_size: RECORD_SIZE_MAX, skip_empty_lines: false });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let batch: number | undefined;
  let payouts = 0;
  let count = 0;
  // Merchant accounts with lines and no payout line yet: each must be closed by the end.
  const unpaid = new Set<string>();
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const line = toSettlementLine(record, info.lines);
      count += 1;
      if (count > SETTLEMENT_REPORT_LIMITS.lines_max)
        throw new SettlementReportError(line.line, `a report has at most ${SETTLEMENT_REPORT_LIMITS.lines_max} lines`);
      batch ??= line.batch_number;
      if (line.batch_number !== batch)
        throw new SettlementReportError(line.line, `"Batch Number" ${line.batch_number} differs from the report's batch ${batch}`);
      if (isPayout(line)) {
        payouts += 1;
        unpaid.delete(line.merchant_account);
      } else if (payouts > 0) throw new SettlementReportError(line.line, `a ${line.type} line after the batch's MerchantPayout lines`);
      else unpaid.add(line.merchant_account);
      yield line;
    }
  } catch (error) {
    throw asReportError(error);
  } finally {
    input.destroy();
  }
  if (count === 0) throw new SettlementReportError(2, 'the report has no lines: a settlement batch ends with its MerchantPayout line');
  if (payouts === 0) throw new SettlementReportError(count + 1, 'the report ends without a MerchantPayout line: it is cut short');
  if (tail.last_char !== '\n') throw new SettlementReportError(count + 1, 'the report does not end with a line break: it is cut short');
  const [first_unpaid] = unpaid;
  if (first_unpaid !== undefined)
    throw new SettlementReportError(count + 1, `merchant account ${first_unpaid.slice(0, 64)} has lines and no MerchantPayout line: the report is cut short`);
}

/** Reads a whole report into memory (small reports, tests); large ones should be iterated. */
export async function readSettlementReport(source: ReportSource): Promise<SettlementLine[]> {
  const lines: SettlementLine[] = [];
  for await (const line of parseSettlementReport(source)) lines.push(line);
  return lines;
}

/** The CSV text of a report: the header, then each line (its `line` field is not written). */
export function serializeSettlementReport(lines: Iterable<SettlementLine>): string {
  return [...serializeSettlementReportChunks(lines)].join('');
}

/** The same, chunk by chunk (the header, then up to 1 000 lines per chunk), for streaming. */
export function* serializeSettlementReportChunks(lines: Iterable<SettlementLine>): Generator<string> {
  yield stringify([SETTLEMENT_REPORT_COLUMNS]);
  let records: string[][] = [];
  for (const line of lines) {
    records.push(toSettlementRecord(line));
    if (records.length === 1_000) {
      yield stringify(records);
      records = [];
    }
  }
  if (records.length > 0) yield stringify(records);
}

/** The header must name every standard column once; extra columns (Adyen's optional ones) are allowed. */
function checkHeader(header: string[]): string[] {
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new SettlementReportError(1, `column "${name}" appears twice in the header`);
    seen.add(name);
  }
  const missing = SETTLEMENT_REPORT_COLUMNS.filter((column) => !seen.has(column));
  if (missing.length > 0) throw new SettlementReportError(1, `the header lacks ${missing.map((c) => `"${c}"`).join(', ')}`);
  return header;
}

async function* trackLastChar(source: ReportSource, tail: { last_char: string }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    if (buffer.length > 0) tail.last_char = String.fromCharCode(buffer[buffer.length - 1] ?? 0);
    yield buffer;
  }
}

/** csv-parse's errors carry the line they stopped at; ours already do. */
function asReportError(error: unknown): unknown {
  if (error instanceof SettlementReportError) return error;
  if (error instanceof CsvError) {
    const lines = typeof error.lines === 'number' ? error.lines : 0;
    return new SettlementReportError(lines, error.message.replace(/^Invalid Record Length: /, 'wrong number of columns: '));
  }
  // An error thrown inside the header callback arrives wrapped by the stream.
  if (error instanceof Error && error.cause instanceof SettlementReportError) return error.cause;
  return error;
}

import type pg from 'pg';
import type { PaymentsRecords, SourceEntry } from '../../ledger/index.js';
import { chargeProblem, entriesBySource, refundProblem } from '../../ledger/index.js';
import type { ReportLine, PayrailRecord, Verdict } from '../domain/reconciliation.js';
import { classifyLine, lineExceptionId, lineReference, recordKindOf } from '../domain/reconciliation.js';
import type { ExceptionRow, MatchRow } from '../adapters/reconciliation-store.js';
import { matchKey, matchesOf, recordMatches } from '../adapters/reconciliation-store.js';
import type { PayoutCheck, PayoutDifference } from '../domain/payout-check.js';
import type { ProcessorTerms } from './processor-terms.js';
import { feeAdjustmentId } from './remediate.js';

/**
 * One batch of report lines against Payrail: three lookups for the whole batch (the ledger's
 * transfers by source id, payments' records by merchant and id, earlier matches), then a verdict per
 * line. Memory is bounded by the batch, never by the report.
 */

export interface BatchContext {
  payouts: PayoutCheck;
  report_id: string;
  report_date: string;
  run_id: string;
  now_s: number;
  terms: ProcessorTerms;
  payments: PaymentsRecords;
}

export interface BatchResult {
  matched: number;
  exceptions: ExceptionRow[];
  /** Lines that settle a whole batch (fees, payouts): checked by the settlement import, not matched here. */
  batch_lines: number;
}

export async function reconcileBatch(tx: pg.PoolClient, lines: readonly ReportLine[], ctx: BatchContext): Promise<BatchResult> {
  const record_lines = lines.filter((line) => recordKindOf(line) === 'charge' || recordKindOf(line) === 'refund');
  const records = await payrailRecords(tx, [...new Set(record_lines.map(lineReference))], ctx);
  const earlier = await matchesOf(
    tx,
    record_lines.map((l) => ({ reference: lineReference(l), type: l.type })),
  );
  const result: BatchResult = { matched: 0, exceptions: [], batch_lines: 0 };
  const new_matches: MatchRow[] = [];
  for (const line of lines) {
    const reference = lineReference(line);
    const record = records.get(reference);
    const key = matchKey({ reference, type: line.type });
    const before = earlier.get(key);
    const verdict = classifyLine(line, record, {
      report_id: ctx.report_id,
      report_date: ctx.report_date,
      matched_before: before ? { report_id: before.report_id, line: before.line } : null,
      expected_fee: record ? ctx.terms.expectedFee(line) : 0,
    });
    if (verdict.outcome === 'batch_line') result.batch_lines += 1;
    const payout = ctx.payouts.add(line);
    if (payout) result.exceptions.push(payoutRow(payout, ctx));
    if (verdict.outcome === 'matched') result.matched += 1;
    if (verdict.outcome === 'exception') result.exceptions.push(exceptionRow(line, record, verdict, ctx));
    // A line that settles a record (even with a wrong amount) is its first match: a later one is a duplicate.
    if (record && !before && (verdict.outcome === 'matched' || (verdict.outcome === 'exception' && verdict.class !== 'duplicate'))) {
      const row = { reference, type: line.type, merchant_id: record.merchant_id, report_id: ctx.report_id, line: line.line };
      earlier.set(key, row);
      new_matches.push(row);
    }
  }
  await recordMatches(tx, new_matches);
  return result;
}

/** A payout line that does not pay its lines' net: the processor's report disagrees with itself. */
function payoutRow(payout: PayoutDifference, ctx: BatchContext): ExceptionRow {
  const { line, merchant_account, currency, expected, paid } = payout;
  return {
    id: lineExceptionId(ctx.report_id, line.line, 'amount_mismatch'),
    run_id: ctx.run_id,
    merchant_id: MERCHANT_ID.test(merchant_account) ? merchant_account : null,
    class: 'amount_mismatch',
    status: 'open',
    reference: `payout:${merchant_account}:${currency}`,
    line: line.line,
    detail: `the ${currency} payout of ${merchant_account} pays ${paid}; its lines' net is ${expected}`,
    report_line: { ...line },
    payrail_record: null,
    adjustment: null,
    transfer_id: null,
    created: ctx.now_s,
  };
}

/** A line Payrail has no record of belongs to the merchant account the processor names, when that is a Payrail merchant id. */
const MERCHANT_ID = /^acct_\w{1,64}$/;

function exceptionRow(
  line: ReportLine,
  record: PayrailRecord | undefined,
  verdict: Extract<Verdict, { outcome: 'exception' }>,
  ctx: BatchContext,
): ExceptionRow {
  const id = lineExceptionId(ctx.report_id, line.line, verdict.class);
  const adjustment = verdict.remedy?.kind === 'fee_adjustment' ? verdict.remedy.amount : null;
  return {
    id,
    run_id: ctx.run_id,
    merchant_id: record?.merchant_id ?? (MERCHANT_ID.test(line.merchant_account) ? line.merchant_account : null),
    class: verdict.class,
    status: verdict.status,
    reference: lineReference(line),
    line: line.line,
    detail: verdict.detail,
    report_line: { ...line },
    payrail_record: record ? { ...record } : null,
    adjustment,
    transfer_id: adjustment === null ? null : feeAdjustmentId(id, ctx.report_date),
    created: ctx.now_s,
  };
}

/**
 * Payrail's record of each reference: the ledger names the merchant, the currency and when the money
 * moved (the capture, the refund paid); payments, through its port, the captured amount or the refund
 * and its state.
 * A reference payments does not know, or a refund that did not succeed, has no record to settle.
 */
async function payrailRecords(tx: pg.PoolClient, references: readonly string[], ctx: BatchContext): Promise<Map<string, PayrailRecord>> {
  const entries = await entriesBySource(tx, references);
  const by_source = new Map<string, SourceEntry[]>();
  for (const entry of entries) by_source.set(entry.source_id, [...(by_source.get(entry.source_id) ?? []), entry]);
  const sources = [...by_source.values()].map((list) => ({ merchant_id: (list[0] as SourceEntry).merchant_id, source_id: (list[0] as SourceEntry).source_id }));
  const [charges, refunds] = await Promise.all([
    ctx.payments.chargesByIds(
      tx,
      sources.filter((s) => s.source_id.startsWith('ch_')),
    ),
    ctx.payments.refundsByIds(
      tx,
      sources.filter((s) => s.source_id.startsWith('re_')),
    ),
  ]);
  const records = new Map<string, PayrailRecord>();
  for (const charge of charges) {
    const list = by_source.get(charge.id) ?? [];
    const capture = list.find((e) => e.kind === 'capture');
    if (!capture || charge.amount_captured === 0) continue;
    records.set(charge.id, record('charge', charge.merchant_id, charge.id, charge.amount_captured, capture, chargeProblem(charge, charge.id, list), ctx));
  }
  for (const refund of refunds) {
    const list = by_source.get(refund.id) ?? [];
    const paid = list.find((e) => e.kind === 'refund_paid');
    if (!paid || refund.status !== 'succeeded') continue;
    records.set(refund.id, record('refund', refund.merchant_id, refund.id, refund.amount, paid, refundProblem(refund, refund.id, list), ctx));
  }
  return records;
}

function record(
  kind: PayrailRecord['kind'],
  merchant_id: string,
  id: string,
  amount: number,
  entry: SourceEntry,
  ledger_problem: string | null,
  ctx: BatchContext,
): PayrailRecord {
  return { kind, merchant_id, id, amount, currency: entry.currency, settles_on: ctx.terms.settlesOn(entry.created), ledger_problem };
}

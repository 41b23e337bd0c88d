import type pg from 'pg';
import type { SourceEntry } from '../../ledger/index.js';
import { sourcesBetween } from '../../ledger/index.js';
import type { PayrailRecord } from '../domain/reconciliation.js';
import { RECONCILIATION_RULES, addDays, missingAtProcessor, recordExceptionId } from '../domain/reconciliation.js';
import type { ExceptionRow } from '../adapters/reconciliation-store.js';
import { matchKey, matchesOf } from '../adapters/reconciliation-store.js';
import { idAt } from './processor-terms.js';
import type { BatchContext } from './reconcile-batch.js';

/**
 * The other direction: Payrail's objects that were due `missing_after_days` before this report and
 * that no report has settled since. Waiting that long lets a line that comes a day late be matched
 * (settled late) instead of reported missing first. Read page by page from the ledger, checked
 * against the matches table page by page: memory is bounded by the page.
 */

export const MISSING_LIMITS = {
  page_size: 5_000,
  pages_max: 2_000,
  /** How long before its money moved an object may have been created: a manual capture within an authorization's 7 days. */
  created_before_days: 7,
} as const;

/** The ledger transfer that says an object moved money the processor must settle, and the line type that settles it. */
const DUE: readonly { kind: 'capture' | 'refund_paid'; record: PayrailRecord['kind']; prefix: string; line_type: string }[] = [
  { kind: 'capture', record: 'charge', prefix: 'ch', line_type: 'Settled' },
  { kind: 'refund_paid', record: 'refund', prefix: 're', line_type: 'Refunded' },
];

export async function findMissingAtProcessor(tx: pg.PoolClient, ctx: BatchContext, save: (rows: ExceptionRow[]) => Promise<void>): Promise<void> {
  const due_day = addDays(ctx.report_date, -RECONCILIATION_RULES.missing_after_days);
  const window = ctx.terms.dueWindow(due_day);
  for (const due of DUE) {
    const range = {
      from_id: idAt(due.prefix, (window.from_s - MISSING_LIMITS.created_before_days * 86_400) * 1000),
      to_id: idAt(due.prefix, window.to_s * 1000),
      ...window,
    };
    let after: readonly [string, string] = ['', ''];
    for (let page = 0; page < MISSING_LIMITS.pages_max; page++) {
      const entries = await sourcesBetween(tx, due.kind, range, after, MISSING_LIMITS.page_size);
      if (entries.length === 0) break;
      const matched = await matchesOf(
        tx,
        entries.map((e) => ({ reference: e.source_id, type: due.line_type })),
      );
      const missing = entries.filter((e) => !matched.has(matchKey({ reference: e.source_id, type: due.line_type })));
      const amounts = await amountsOf(tx, due.record, missing, ctx);
      await save(missing.map((entry) => missingRow(entry, due.record, amounts.get(entry.source_id) ?? 0, due_day, ctx)));
      const last = entries[entries.length - 1] as SourceEntry;
      after = [last.source_id, last.merchant_id];
      if (entries.length < MISSING_LIMITS.page_size) break;
    }
  }
}

/**
 * A capture moves the captured amount (net + fee, or the charge's amount when it was converted); a
 * refund's amount is read from payments, through its port.
 */
async function amountsOf(tx: pg.PoolClient, kind: PayrailRecord['kind'], entries: readonly SourceEntry[], ctx: BatchContext): Promise<Map<string, number>> {
  if (kind === 'charge') return new Map(entries.map((e) => [e.source_id, e.converted_from ?? e.net + e.fee]));
  const refunds = await ctx.payments.refundsByIds(
    tx,
    entries.map((e) => ({ merchant_id: e.merchant_id, source_id: e.source_id })),
  );
  return new Map(refunds.map((r) => [r.id, r.amount]));
}

function missingRow(entry: SourceEntry, kind: PayrailRecord['kind'], amount: number, due_day: string, ctx: BatchContext): ExceptionRow {
  const record: PayrailRecord = {
    kind,
    merchant_id: entry.merchant_id,
    id: entry.source_id,
    amount,
    currency: entry.currency,
    settles_on: due_day,
    ledger_problem: null,
  };
  const verdict = missingAtProcessor(record, ctx.report_date);
  return {
    id: recordExceptionId('missing_at_processor', entry.merchant_id, entry.source_id),
    run_id: ctx.run_id,
    merchant_id: entry.merchant_id,
    class: 'missing_at_processor',
    status: 'open',
    reference: entry.source_id,
    line: null,
    detail: verdict.outcome === 'exception' ? verdict.detail : '',
    report_line: null,
    payrail_record: { ...record },
    adjustment: null,
    transfer_id: null,
    created: ctx.now_s,
  };
}

import type pg from 'pg';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { ChargeFacts, LedgerEntry, RefundFacts } from '../domain/reconcile.js';
import { chargeProblem, refundProblem } from '../domain/reconcile.js';
import type { TransferKind } from '../domain/transfer.js';
import { sourceKey } from '../adapters/store.js';
import type { Findings } from './verify-findings.js';
import { VERIFY_LIMITS } from './verify-findings.js';

/** One side of reconciliation: a payments table and the transfer kinds that belong to its objects. */
export interface Reconciliation<F extends { merchant_id: string; id: string }> {
  name: string;
  kinds: readonly TransferKind[];
  /** Payments objects that must have transfers, in (merchant_id, id) order after `after`. */
  page(db: Db, after: readonly [string, string], limit: number): Promise<F[]>;
  /** The payments objects with these ids, whatever their state. */
  byIds(db: Db, sources: readonly { merchant_id: string; source_id: string }[]): Promise<F[]>;
  problem(facts: F | undefined, source_id: string, entries: readonly LedgerEntry[]): string | null;
}

/**
 * The payments service's side of reconciliation, read through its port: the ledger never reads
 * another service's tables. Each call runs on `db`, verify's one read-only snapshot.
 */
export interface PaymentsRecords {
  // Function-typed properties, not methods: reconciliation passes them around detached from the object.
  /** Charges with a captured amount, in (merchant_id, id) order after `after`. */
  readonly capturedCharges: (db: Db, after: readonly [string, string], limit: number) => Promise<ChargeFacts[]>;
  readonly chargesByIds: (db: Db, sources: readonly { merchant_id: string; source_id: string }[]) => Promise<ChargeFacts[]>;
  /** Every refund, in (merchant_id, id) order after `after`. */
  readonly refunds: (db: Db, after: readonly [string, string], limit: number) => Promise<RefundFacts[]>;
  readonly refundsByIds: (db: Db, sources: readonly { merchant_id: string; source_id: string }[]) => Promise<RefundFacts[]>;
}

export function chargesSide(payments: PaymentsRecords): Reconciliation<ChargeFacts> {
  return { name: 'charges', kinds: ['capture', 'release'], page: payments.capturedCharges, byIds: payments.chargesByIds, problem: chargeProblem };
}

export function refundsSide(payments: PaymentsRecords): Reconciliation<RefundFacts> {
  return { name: 'refunds', kinds: ['refund', 'refund_paid', 'refund_failure'], page: payments.refunds, byIds: payments.refundsByIds, problem: refundProblem };
}

/**
 * Both directions, page by page: every payments object that needs transfers has the right ones,
 * and every source the ledger has transfers for is a payments object in a state that explains them.
 * Returns how many payments objects were checked.
 */
export async function reconcile<F extends { merchant_id: string; id: string }>(
  db: pg.PoolClient,
  findings: Findings,
  side: Reconciliation<F>,
): Promise<number> {
  let checked = 0;
  let after: readonly [string, string] = ['', ''];
  for (let page = 0; page < VERIFY_LIMITS.pages_max; page++) {
    const objects = await side.page(db, after, VERIFY_LIMITS.page_size);
    if (objects.length === 0) break;
    const entries = await ledgerEntries(
      db,
      objects.map((o) => ({ merchant_id: o.merchant_id, source_id: o.id })),
    );
    for (const o of objects) {
      const problem = side.problem(o, o.id, entries.get(sourceKey({ merchant_id: o.merchant_id, source_id: o.id })) ?? []);
      if (problem) findings.suspect(o.merchant_id, o.id, problem);
    }
    checked += objects.length;
    const last = objects[objects.length - 1] as F;
    after = [last.merchant_id, last.id];
    if (objects.length < VERIFY_LIMITS.page_size) break;
  }
  after = ['', ''];
  for (let page = 0; page < VERIFY_LIMITS.pages_max; page++) {
    const sources = (
      await run<{ merchant_id: string; source_id: string }>(
        db,
        sql`
      SELECT DISTINCT source_id, merchant_id FROM ledger.transfers
      WHERE kind = ANY(${side.kinds}::text[]) AND (source_id, merchant_id) > (${after[1]}, ${after[0]})
      ORDER BY source_id, merchant_id LIMIT ${VERIFY_LIMITS.page_size}`,
      )
    ).rows;
    if (sources.length === 0) break;
    const objects = new Map((await side.byIds(db, sources)).map((o) => [sourceKey({ merchant_id: o.merchant_id, source_id: o.id }), o]));
    const entries = await ledgerEntries(db, sources);
    for (const s of sources) {
      const problem = side.problem(objects.get(sourceKey(s)), s.source_id, entries.get(sourceKey(s)) ?? []);
      if (problem) findings.suspect(s.merchant_id, s.source_id, problem);
    }
    const last = sources[sources.length - 1] as { merchant_id: string; source_id: string };
    after = [last.merchant_id, last.source_id];
    if (sources.length < VERIFY_LIMITS.page_size) break;
  }
  return checked;
}

/** Every transfer of any kind for each source, so a transfer of the wrong kind shows up too. */
async function ledgerEntries(db: Db, sources: readonly { merchant_id: string; source_id: string }[]): Promise<Map<string, LedgerEntry[]>> {
  const result = await run<LedgerEntry & { merchant_id: string; source_id: string }>(
    db,
    sql`
    SELECT t.merchant_id, t.source_id, t.kind, t.id, t.net, t.fee, (t.conversion ->> 'from_amount')::bigint AS converted_from FROM ledger.transfers t
    JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, source_id)
      ON t.merchant_id = k.merchant_id AND t.source_id = k.source_id COLLATE "C"`,
  );
  const entries = new Map<string, LedgerEntry[]>();
  for (const row of result.rows) {
    const key = sourceKey(row);
    entries.set(key, [...(entries.get(key) ?? []), { kind: row.kind, id: row.id, net: row.net, fee: row.fee, converted_from: row.converted_from }]);
  }
  return entries;
}

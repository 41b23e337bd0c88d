import type pg from 'pg';
import type { Db, Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { ACCOUNT_CODES, CHART } from '../domain/accounts.js';
import type { ChargeFacts, LedgerEntry, RefundFacts } from '../domain/reconcile.js';
import { chargeProblem, refundProblem } from '../domain/reconcile.js';
import type { TransferKind } from '../domain/transfer.js';
import { sourceKey } from '../adapters/store.js';
import { LEDGER_CONSUMER_NAME } from './consumer.js';

export const VERIFY_LIMITS = {
  /** Problems listed; more are counted. */
  problems_max: 100,
  page_size: 1_000,
  /** 10^9 objects per side at most: a bound, not a plan. */
  pages_max: 1_000_000,
  /** Objects whose mismatch may just be consumer lag, checked against the outbox at the end. */
  suspects_max: 10_000,
} as const;

export interface VerifyReport {
  problems: string[];
  /** Problems beyond `problems_max` were counted, not listed. */
  problem_count: number;
  counts: { transfers: number; postings: number; accounts: number; charges: number; refunds: number };
  /** Payments objects not yet in the ledger because their events are still ahead of the consumer. */
  in_flight: number;
  /** Captures past their settlement delay whose release the worker has not posted yet. */
  releases_due: number;
}

/**
 * Recomputes the ledger from its postings and reconciles it with payments, in one read-only
 * REPEATABLE READ snapshot so every table is seen at the same instant:
 *
 * - every transfer has two or more postings, in its currency, summing to zero; no posting is orphaned;
 * - every account's totals equal the sums of its postings, and its normal balance matches the chart;
 * - every transfer's net and fee equal what its postings say;
 * - every capture with a net is either released or scheduled, never both, and releases move the net;
 * - the ledger consumer has parked no event;
 * - every captured charge and every refund has exactly the transfers its state calls for, and no
 *   transfer names a charge or refund that payments does not have in that state.
 *
 * An object whose events the consumer has not reached yet is counted in flight, not as a problem.
 */
export async function verifyLedger(pool: Pool, now_s: number, payments: PaymentsRecords): Promise<VerifyReport> {
  // One snapshot for every check, so a posting in progress cannot make the books look unbalanced.
  return withTransaction(
    pool,
    async (client) => {
      const findings = new Findings();
      await checkTransfersBalance(client, findings);
      await checkAccountTotals(client, findings);
      await checkBalanceEffects(client, findings);
      await checkReleases(client, findings);
      await checkDeadLetters(client, findings);
      const charges = await reconcile(client, findings, chargesSide(payments));
      const refunds = await reconcile(client, findings, refundsSide(payments));
      const in_flight = await findings.settleSuspects(client);
      const counts = await run<{ transfers: number; postings: number; accounts: number; releases_due: number }>(
        client,
        sql`SELECT
      (SELECT count(*) FROM ledger.transfers)::int AS transfers, (SELECT count(*) FROM ledger.postings)::int AS postings,
      (SELECT count(*) FROM ledger.accounts)::int AS accounts,
      (SELECT count(*) FROM ledger.releases WHERE available_on <= ${now_s})::int AS releases_due`,
      );
      const row = counts.rows[0];
      assert(row !== undefined, 'count query returned no row');
      return {
        problems: findings.listed,
        problem_count: findings.count,
        counts: { transfers: row.transfers, postings: row.postings, accounts: row.accounts, charges, refunds },
        in_flight,
        releases_due: row.releases_due,
      };
    },
    { first_statement: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY' },
  );
}

/** Problems, deduplicated and bounded, plus suspects that may only be consumer lag. */
class Findings {
  readonly listed: string[] = [];
  private readonly seen = new Set<string>();
  count = 0;
  private readonly suspects = new Map<string, { merchant_id: string; object_id: string; problem: string }>();

  add(problem: string): void {
    if (this.seen.has(problem)) return;
    this.seen.add(problem);
    this.count += 1;
    if (this.listed.length < VERIFY_LIMITS.problems_max) this.listed.push(problem);
  }

  suspect(merchant_id: string, object_id: string, problem: string): void {
    if (this.suspects.size >= VERIFY_LIMITS.suspects_max) return this.add(problem);
    this.suspects.set(`${merchant_id}\u0000${object_id}\u0000${problem}`, { merchant_id, object_id, problem });
  }

  /** Suspects with an event still ahead of the ledger consumer are in flight; the rest are problems. */
  async settleSuspects(db: Db): Promise<number> {
    const suspects = [...this.suspects.values()];
    if (suspects.length === 0) return 0;
    // Only the events past the ledger's offset are scanned (LATERAL: the offset bounds the index range).
    const pending = await run<{ merchant_id: string; object_id: string }>(
      db,
      sql`
      SELECT DISTINCT ahead.merchant_id, ahead.object_id
      FROM (SELECT coalesce((SELECT xid FROM events.consumer_offsets WHERE consumer = ${LEDGER_CONSUMER_NAME}), '0'::xid8) AS xid,
                   coalesce((SELECT seq FROM events.consumer_offsets WHERE consumer = ${LEDGER_CONSUMER_NAME}), 0) AS seq) o
      CROSS JOIN LATERAL (
        SELECT e.merchant_id, e.object_id FROM events.outbox e
        WHERE (e.xid, e.seq) > (o.xid, o.seq) AND e.object_id = ANY(${suspects.map((s) => s.object_id)}::text[])) ahead`,
    );
    const ahead = new Set(pending.rows.map((r) => `${r.merchant_id}\u0000${r.object_id}`));
    let in_flight = 0;
    const counted = new Set<string>();
    for (const s of suspects) {
      const key = `${s.merchant_id}\u0000${s.object_id}`;
      if (!ahead.has(key)) this.add(s.problem);
      else if (!counted.has(key)) {
        counted.add(key);
        in_flight += 1;
      }
    }
    return in_flight;
  }
}

async function checkTransfersBalance(db: Db, findings: Findings): Promise<void> {
  const unbalanced = await run<{ merchant_id: string; id: string; total: number; n: number; off: number }>(
    db,
    sql`
    SELECT t.merchant_id, t.id, coalesce(sum(p.amount), 0)::bigint AS total, count(p.index)::int AS n,
           count(*) FILTER (WHERE p.currency <> t.currency)::int AS off
    FROM ledger.transfers t LEFT JOIN ledger.postings p ON p.merchant_id = t.merchant_id AND p.transfer_id = t.id
    GROUP BY t.merchant_id, t.id
    HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.index) < 2 OR count(*) FILTER (WHERE p.currency <> t.currency) > 0
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of unbalanced.rows)
    findings.add(`transfer ${r.id} (${r.merchant_id}) is unbalanced: ${r.n} postings summing to ${r.total}, ${r.off} in another currency`);
  const orphans = await run<{ merchant_id: string; transfer_id: string }>(
    db,
    sql`
    SELECT DISTINCT p.merchant_id, p.transfer_id FROM ledger.postings p
    WHERE NOT EXISTS (SELECT 1 FROM ledger.transfers t WHERE t.merchant_id = p.merchant_id AND t.id = p.transfer_id)
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of orphans.rows) findings.add(`postings for transfer ${r.transfer_id} (${r.merchant_id}), which does not exist`);
}

async function checkAccountTotals(db: Db, findings: Findings): Promise<void> {
  const wrong = await run<{
    merchant_id: string;
    currency: string;
    code: string;
    debits_posted: number | null;
    credits_posted: number | null;
    debits: number | null;
    credits: number | null;
  }>(
    db,
    sql`
    WITH sums AS (
      SELECT merchant_id, currency, account AS code, sum(greatest(amount, 0))::bigint AS debits, sum(greatest(-amount, 0))::bigint AS credits
      FROM ledger.postings GROUP BY merchant_id, currency, account)
    SELECT coalesce(a.merchant_id, s.merchant_id) AS merchant_id, coalesce(a.currency, s.currency) AS currency, coalesce(a.code, s.code) AS code,
           a.debits_posted, a.credits_posted, s.debits, s.credits
    FROM ledger.accounts a FULL JOIN sums s ON s.merchant_id = a.merchant_id AND s.currency = a.currency AND s.code = a.code
    WHERE a.merchant_id IS NULL OR coalesce(a.debits_posted, 0) <> coalesce(s.debits, 0) OR coalesce(a.credits_posted, 0) <> coalesce(s.credits, 0)
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows) {
    findings.add(
      r.debits_posted === null
        ? `account ${r.code} of ${r.merchant_id} in ${r.currency} has postings but no account row`
        : `account ${r.code} of ${r.merchant_id} in ${r.currency} records debits ${r.debits_posted} / credits ${r.credits_posted}, its postings sum to ${r.debits ?? 0} / ${r.credits ?? 0}`,
    );
  }
  const normals = await run<{ code: string; normal: string }>(db, sql`SELECT DISTINCT code, normal FROM ledger.accounts`);
  for (const r of normals.rows) {
    const spec = (ACCOUNT_CODES as readonly string[]).includes(r.code) ? CHART[r.code as (typeof ACCOUNT_CODES)[number]] : undefined;
    if (!spec || spec.normal !== r.normal) findings.add(`accounts ${r.code} are stored ${r.normal}-normal, the chart says ${spec?.normal ?? 'nothing'}`);
  }
}

async function checkBalanceEffects(db: Db, findings: Findings): Promise<void> {
  const wrong = await run<{ merchant_id: string; id: string; net: number; fee: number; net_postings: number; fee_postings: number }>(
    db,
    sql`
    SELECT t.merchant_id, t.id, t.net, t.fee,
      coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('merchant_pending', 'merchant_available')), 0)::bigint AS net_postings,
      coalesce(-sum(p.amount) FILTER (WHERE p.account = 'platform_fees'), 0)::bigint AS fee_postings
    FROM ledger.transfers t JOIN ledger.postings p ON p.merchant_id = t.merchant_id AND p.transfer_id = t.id
    GROUP BY t.merchant_id, t.id, t.net, t.fee
    HAVING t.net <> coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('merchant_pending', 'merchant_available')), 0)
        OR t.fee <> coalesce(-sum(p.amount) FILTER (WHERE p.account = 'platform_fees'), 0)
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows)
    findings.add(`transfer ${r.id} (${r.merchant_id}) shows net ${r.net} and fee ${r.fee}; its postings say ${r.net_postings} and ${r.fee_postings}`);
}

async function checkReleases(db: Db, findings: Findings): Promise<void> {
  const wrong = await run<{ id: string; source_id: string; scheduled: boolean; release_id: string | null }>(
    db,
    sql`
    SELECT c.id, c.source_id, r.transfer_id IS NOT NULL AS scheduled, rel.id AS release_id
    FROM ledger.transfers c
    LEFT JOIN ledger.releases r ON r.merchant_id = c.merchant_id AND r.transfer_id = c.id
    LEFT JOIN ledger.transfers rel ON rel.merchant_id = c.merchant_id AND rel.source_id = c.source_id AND rel.kind = 'release'
    WHERE c.kind = 'capture' AND c.net > 0 AND ((r.transfer_id IS NULL) = (rel.id IS NULL))
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows) {
    findings.add(
      r.scheduled
        ? `capture ${r.id} of ${r.source_id} is released (${r.release_id}) and still scheduled for release`
        : `capture ${r.id} of ${r.source_id} is neither released nor scheduled for release`,
    );
  }
  const amounts = await run<{ id: string; source_id: string; moved: number; net: number }>(
    db,
    sql`
    SELECT rel.id, rel.source_id, coalesce(-sum(p.amount) FILTER (WHERE p.account = 'merchant_available'), 0)::bigint AS moved, c.net
    FROM ledger.transfers rel
    JOIN ledger.transfers c ON c.merchant_id = rel.merchant_id AND c.source_id = rel.source_id AND c.kind = 'capture'
    JOIN ledger.postings p ON p.merchant_id = rel.merchant_id AND p.transfer_id = rel.id
    WHERE rel.kind = 'release'
    GROUP BY rel.id, rel.source_id, c.net
    HAVING coalesce(-sum(p.amount) FILTER (WHERE p.account = 'merchant_available'), 0) <> c.net
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of amounts.rows) findings.add(`release ${r.id} of ${r.source_id} makes ${r.moved} available; the capture's net is ${r.net}`);
}

async function checkDeadLetters(db: Db, findings: Findings): Promise<void> {
  const parked = await run<{ event_id: string; type: string; error: string }>(
    db,
    sql`
    SELECT event_id, type, error FROM events.dead_letters WHERE consumer = ${LEDGER_CONSUMER_NAME} ORDER BY event_id LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of parked.rows) findings.add(`event ${r.event_id} (${r.type}) was parked by the ledger consumer: ${r.error.slice(0, 300)}`);
}

/** One side of reconciliation: a payments table and the transfer kinds that belong to its objects. */
interface Reconciliation<F extends { merchant_id: string; id: string }> {
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

function chargesSide(payments: PaymentsRecords): Reconciliation<ChargeFacts> {
  return { name: 'charges', kinds: ['capture', 'release'], page: payments.capturedCharges, byIds: payments.chargesByIds, problem: chargeProblem };
}

function refundsSide(payments: PaymentsRecords): Reconciliation<RefundFacts> {
  return { name: 'refunds', kinds: ['refund', 'refund_paid', 'refund_failure'], page: payments.refunds, byIds: payments.refundsByIds, problem: refundProblem };
}

/**
 * Both directions, page by page: every payments object that needs transfers has the right ones,
 * and every source the ledger has transfers for is a payments object in a state that explains them.
 * Returns how many payments objects were checked.
 */
async function reconcile<F extends { merchant_id: string; id: string }>(db: pg.PoolClient, findings: Findings, side: Reconciliation<F>): Promise<number> {
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
    SELECT t.merchant_id, t.source_id, t.kind, t.id, t.net, t.fee FROM ledger.transfers t
    JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, source_id)
      ON t.merchant_id = k.merchant_id AND t.source_id = k.source_id COLLATE "C"`,
  );
  const entries = new Map<string, LedgerEntry[]>();
  for (const row of result.rows) {
    const key = sourceKey(row);
    entries.set(key, [...(entries.get(key) ?? []), { kind: row.kind, id: row.id, net: row.net, fee: row.fee }]);
  }
  return entries;
}

/** `payrail ledger verify`: prints the report; the exit code is 0 only when nothing is wrong. */
export async function ledgerVerifyCommand(pool: Pool, now_s: number, payments: PaymentsRecords, out: { write(text: string): unknown }): Promise<number> {
  const report = await verifyLedger(pool, now_s, payments);
  const c = report.counts;
  const lines = [
    `ledger verify: ${report.problem_count === 0 ? 'OK' : `${report.problem_count} problem(s)`}`,
    `  ${c.transfers} transfers, ${c.postings} postings, ${c.accounts} accounts recomputed from postings`,
    `  ${c.charges} captured charges and ${c.refunds} refunds reconciled with payments; ${report.in_flight} still in flight to the ledger`,
    ...(report.releases_due > 0 ? [`  ${report.releases_due} capture(s) past their settlement delay await release by the running server`] : []),
    ...report.problems.map((p) => `  - ${p}`),
    ...(report.problem_count > report.problems.length ? [`  … and ${report.problem_count - report.problems.length} more`] : []),
  ];
  out.write(`${lines.join('\n')}\n`);
  return report.problem_count === 0 ? 0 : 1;
}

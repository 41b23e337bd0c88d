import type { Db, Pool } from '../../../platform/db.js';
import { run, sql, withTransaction } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { ACCOUNT_CODES, CHART } from '../domain/accounts.js';
import { LEDGER_CONSUMER_NAME } from './consumer.js';
import type { PaymentsRecords } from './reconciliation.js';
import { chargesSide, reconcile, refundsSide } from './reconciliation.js';
import { Findings, VERIFY_LIMITS } from './verify-findings.js';
import { checkConversions } from './verify-fx.js';
import type { DisputeRecords } from './dispute-reconciliation.js';
import { disputesSide } from './dispute-reconciliation.js';

export interface VerifyReport {
  problems: string[];
  /** Problems beyond `problems_max` were counted, not listed. */
  problem_count: number;
  counts: { transfers: number; postings: number; accounts: number; charges: number; refunds: number; disputes?: number };
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
 * - every transfer's net and fee equal what its postings say (the fee counts the conversion fee);
 * - every conversion has both legs, moving the amounts its balance transaction reports (verify-fx.ts);
 * - every capture with a net is either released or scheduled, never both, and releases move the net;
 * - the ledger consumer has parked no event;
 * - Connect's clearing account sums to zero per currency over each platform and its connected accounts;
 * - every captured charge and every refund has exactly the transfers its state calls for, and no
 *   transfer names a charge or refund that payments does not have in that state.
 *
 * An object whose events the consumer has not reached yet is counted in flight, not as a problem.
 */
export async function verifyLedger(pool: Pool, now_s: number, payments: PaymentsRecords, disputes?: DisputeRecords): Promise<VerifyReport> {
  // One snapshot for every check, so a posting in progress cannot make the books look unbalanced.
  return withTransaction(
    pool,
    async (client) => {
      const findings = new Findings();
      await checkTransfersBalance(client, findings);
      await checkAccountTotals(client, findings);
      await checkBalanceEffects(client, findings);
      await checkReleases(client, findings);
      await checkReleaseAmounts(client, findings);
      await checkDeadLetters(client, findings);
      await checkConversions(client, findings);
      await checkConnectClearing(client, findings);
      const charges = await reconcile(client, findings, chargesSide(payments));
      const refunds = await reconcile(client, findings, refundsSide(payments));
      // Disputes, when the caller has their records: each one's withdrawal and reinstatement.
      const disputes_checked = disputes ? await reconcile(client, findings, disputesSide(disputes)) : undefined;
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
        counts: {
          transfers: row.transfers,
          postings: row.postings,
          accounts: row.accounts,
          charges,
          refunds,
          ...(disputes_checked === undefined ? {} : { disputes: disputes_checked }),
        },
        in_flight,
        releases_due: row.releases_due,
      };
    },
    { first_statement: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY' },
  );
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
      coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('platform_fees', 'fx_fees')), 0)::bigint AS fee_postings
    FROM ledger.transfers t JOIN ledger.postings p ON p.merchant_id = t.merchant_id AND p.transfer_id = t.id
    GROUP BY t.merchant_id, t.id, t.net, t.fee
    HAVING t.net <> coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('merchant_pending', 'merchant_available')), 0)
        OR t.fee <> coalesce(-sum(p.amount) FILTER (WHERE p.account IN ('platform_fees', 'fx_fees')), 0)
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows)
    findings.add(`transfer ${r.id} (${r.merchant_id}) shows net ${r.net} and fee ${r.fee}; its postings say ${r.net_postings} and ${r.fee_postings}`);
}

async function checkReleases(db: Db, findings: Findings): Promise<void> {
  // A capture held in merchant_pending is released or scheduled, never both; one posted straight to
  // merchant_available (funds available at once) is neither.
  const wrong = await run<{ id: string; source_id: string; held: boolean; scheduled: boolean; release_id: string | null }>(
    db,
    sql`
    SELECT * FROM (
      SELECT c.id, c.source_id, r.transfer_id IS NOT NULL AS scheduled, rel.id AS release_id,
        EXISTS (SELECT 1 FROM ledger.postings p WHERE p.merchant_id = c.merchant_id AND p.transfer_id = c.id AND p.account = 'merchant_pending') AS held
      FROM ledger.transfers c
      LEFT JOIN ledger.releases r ON r.merchant_id = c.merchant_id AND r.transfer_id = c.id
      LEFT JOIN ledger.transfers rel ON rel.merchant_id = c.merchant_id AND rel.source_id = c.source_id AND rel.kind = 'release'
      WHERE c.kind = 'capture' AND c.net > 0) c
    WHERE CASE WHEN c.held THEN c.scheduled = (c.release_id IS NOT NULL) ELSE c.scheduled OR c.release_id IS NOT NULL END
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows) findings.add(releaseProblem(r));
}

function releaseProblem(r: { id: string; source_id: string; held: boolean; scheduled: boolean; release_id: string | null }): string {
  const capture = `capture ${r.id} of ${r.source_id}`;
  if (!r.held) return `${capture} was available at once but is ${r.scheduled ? 'scheduled for release' : `released (${r.release_id})`}`;
  return r.scheduled ? `${capture} is released (${r.release_id}) and still scheduled for release` : `${capture} is neither released nor scheduled for release`;
}

async function checkReleaseAmounts(db: Db, findings: Findings): Promise<void> {
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

/**
 * Each connect movement's two legs are written in one statement, so in one snapshot the platform's
 * and its connected accounts' `connect_transfers` cancel out per currency. Reads only those accounts.
 */
async function checkConnectClearing(db: Db, findings: Findings): Promise<void> {
  const off = await run<{ platform_id: string; currency: string; total: number }>(
    db,
    sql`
    SELECT coalesce(m.platform_id, a.merchant_id) AS platform_id, a.currency, sum(a.debits_posted - a.credits_posted)::bigint AS total
    FROM ledger.accounts a LEFT JOIN merchants.merchants m ON m.id = a.merchant_id
    WHERE a.code = 'connect_transfers'
    GROUP BY 1, 2 HAVING sum(a.debits_posted - a.credits_posted) <> 0
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of off.rows) findings.add(`connect_transfers of platform ${r.platform_id} and its connected accounts sum to ${r.total} ${r.currency}, not zero`);
}

/** `payrail ledger verify`: prints the report; the exit code is 0 only when nothing is wrong. */
export async function ledgerVerifyCommand(
  pool: Pool,
  now_s: number,
  payments: PaymentsRecords,
  out: { write(text: string): unknown },
  disputes?: DisputeRecords,
): Promise<number> {
  const report = await verifyLedger(pool, now_s, payments, disputes);
  const c = report.counts;
  const lines = [
    `ledger verify: ${report.problem_count === 0 ? 'OK' : `${report.problem_count} problem(s)`}`,
    `  ${c.transfers} transfers, ${c.postings} postings, ${c.accounts} accounts recomputed from postings`,
    `  ${c.charges} captured charges and ${c.refunds} refunds reconciled with payments; ${report.in_flight} still in flight to the ledger`,
    ...(c.disputes !== undefined ? [`  ${c.disputes} disputes with funds moved reconciled with the disputes service`] : []),
    ...(report.releases_due > 0 ? [`  ${report.releases_due} capture(s) past their settlement delay await release by the running server`] : []),
    ...report.problems.map((p) => `  - ${p}`),
    ...(report.problem_count > report.problems.length ? [`  … and ${report.problem_count - report.problems.length} more`] : []),
  ];
  out.write(`${lines.join('\n')}\n`);
  return report.problem_count === 0 ? 0 : 1;
}

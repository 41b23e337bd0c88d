import type { Db, Pool } from '../../../platform/db.js';
import { isUniqueViolation, run, sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import { PayrailError } from '../../../kernel/errors.js';
import { availableBalances, releaseAllDue, transactionsAvailableBetween } from '../../ledger/index.js';
import type { Payout } from '../domain/payout.js';
import { payoutTransactionId, startOfDay } from '../domain/payout.js';
import type { PayoutSchedule } from '../domain/payout-schedule.js';
import { DEFAULT_SCHEDULE, isRunDue, runDate } from '../domain/payout-schedule.js';
import { commitNewPayout } from './payouts.js';
import { forEachLimited } from './limited.js';

/**
 * Automatic payouts: on each merchant's scheduled days, one payout per currency of the whole
 * available balance to that currency's default bank account. The day comes from the injected clock,
 * so a test that moves the clock runs a month of payouts in seconds.
 *
 * Never twice: a payout carries its run's day, and (merchant, currency, day) is unique, so a run
 * repeated after a crash, or by two processes, finds the payout already made. Each payout records the
 * balance transactions it settled (those available since the previous automatic payout), for
 * `GET /v1/balance_transactions?payout=po_…`.
 */

export const PAYOUT_SCHEDULE_JOB = 'payout-schedule';
export const PAYOUT_SCHEDULE_INTERVAL_MS = 5_000;
/** Candidates read per query; a run walks them all, page by page. */
export const SCHEDULE_PAGE_SIZE = 1_000;
/** Merchants paid out side by side; each payout is a few statements on the write pool. */
export const PAYOUT_RUN_CONCURRENCY = 4;
/** Pages one run walks at most (10 million merchant-currencies); the rest wait for the next run. */
export const SCHEDULE_PAGES_MAX = 10_000;

export interface PayoutScheduleDeps {
  write: WriteDeps;
  /** The system role: reads schedules and bank accounts across merchants, releases due funds first. */
  system: Pool;
  clock: Clock;
  logger: Logger;
}

interface Candidate extends PayoutSchedule {
  merchant_id: string;
  currency: string;
  destination: string;
}

export interface ScheduleRunResult {
  run_date: string;
  payouts: number;
}

/** One scheduled run for the clock's current UTC day. Safe to run again: what it made is found, not made twice. */
export async function runPayoutSchedule(deps: PayoutScheduleDeps): Promise<ScheduleRunResult> {
  const now_s = unixSeconds(deps.clock);
  const day = runDate(now_s);
  // Funds due by now become available first, so each payout pays, and covers, everything due by its run.
  await releaseAllDue(deps.system, now_s);
  let payouts = 0;
  let after = '';
  for (let page = 0; page < SCHEDULE_PAGES_MAX; page++) {
    const candidates = await candidatesAfter(deps.system, day, after);
    await forEachLimited(
      candidates.filter((candidate) => isRunDue(candidate, now_s)),
      PAYOUT_RUN_CONCURRENCY,
      async (candidate) => {
        try {
          const result = await execute(
            deps.write,
            { merchant_id: candidate.merchant_id, request_id: null },
            { reserves: ['payout'], run: (ctx) => createAutomaticPayout(ctx, candidate, day) },
            undefined,
          );
          if (result.response.status === 200 && result.response.body !== 'null') payouts += 1;
        } catch (error) {
          if (!isUniqueViolation(error))
            deps.logger.warn({ err: error, merchant: candidate.merchant_id }, 'payout schedule: payout failed; retried on the next run');
        }
      },
    );
    if (candidates.length < SCHEDULE_PAGE_SIZE) break;
    const last = candidates[candidates.length - 1];
    after = last ? `${last.merchant_id}\u0000${last.currency}` : after;
  }
  return { run_date: day, payouts };
}

/** Default bank accounts with their merchant's schedule, without a payout for this day yet, in (merchant, currency) order. */
async function candidatesAfter(db: Db, day: string, after: string): Promise<Candidate[]> {
  const [after_merchant = '', after_currency = ''] = after.split('\u0000');
  const result = await run<Candidate>(
    db,
    sql`SELECT b.merchant_id, b.currency, b.id AS destination,
        coalesce(s.interval, ${DEFAULT_SCHEDULE.interval}) AS interval, coalesce(s.delay_days, ${DEFAULT_SCHEDULE.delay_days}) AS delay_days,
        s.weekly_anchor, s.monthly_anchor
      FROM settlement.bank_accounts b LEFT JOIN settlement.payout_schedules s ON s.merchant_id = b.merchant_id
      WHERE b.default_for_currency AND coalesce(s.interval, ${DEFAULT_SCHEDULE.interval}) <> 'manual'
        AND (b.merchant_id, b.currency) > (${after_merchant}::text, ${after_currency}::text)
        AND NOT EXISTS (SELECT 1 FROM settlement.payouts p WHERE p.merchant_id = b.merchant_id AND p.currency = b.currency AND p.run_date = ${day}::date)
      ORDER BY b.merchant_id, b.currency LIMIT ${SCHEDULE_PAGE_SIZE}`,
  );
  return result.rows;
}

/** The run's payout for one merchant and currency: the whole available balance, or nothing when there is none. */
export async function createAutomaticPayout(ctx: OperationContext, candidate: Candidate, day: string): Promise<Outcome> {
  const available = (await availableBalances(ctx.reader, ctx.merchant_id)).get(candidate.currency) ?? 0;
  if (available <= 0) return { ok: null as unknown as Record<string, unknown> };
  const previous = await run<{ covered_until: number | null }>(
    ctx.reader,
    sql`SELECT max(created) AS covered_until FROM settlement.payouts WHERE merchant_id = ${ctx.merchant_id} AND currency = ${candidate.currency} AND run_date IS NOT NULL`,
  );
  const covers_after = Number(previous.rows[0]?.covered_until ?? 0);
  const payout: Payout = {
    id: ctx.ids.next('payout'),
    merchant_id: ctx.merchant_id,
    created: ctx.now_s,
    amount: available,
    currency: candidate.currency,
    arrival_date: startOfDay(ctx.now_s),
    automatic: true,
    destination: candidate.destination,
    description: 'STRIPE PAYOUT',
    statement_descriptor: null,
    metadata: {},
    status: 'pending',
    failure_code: null,
    failure_balance_transaction: null,
    run_date: day,
    covers_after,
    version: 1,
  };
  // From the previous run's own second on: what became available in that second after the run read
  // the balance is this payout's; what the previous payout covered is skipped by the insert's conflict.
  const settled = await transactionsAvailableBetween(ctx.reader, ctx.merchant_id, candidate.currency, covers_after - 1, ctx.now_s);
  const covered = [...new Set([...settled, payoutTransactionId(payout)])];
  const record = sql`INSERT INTO settlement.payout_transactions (merchant_id, balance_transaction, payout_id)
    SELECT ${ctx.merchant_id}, t, ${payout.id} FROM unnest(${covered}::text[]) AS t ON CONFLICT DO NOTHING`;
  // A balance that shrank since it was read (a refund) refuses the payout; the next run pays what is left.
  const refused = () => new PayrailError('balance_insufficient', { message: 'The available balance changed during the run.' });
  return commitNewPayout(ctx, payout, [record], refused);
}

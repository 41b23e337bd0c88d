import type { Logger } from '../../../platform/logger.js';
import type { Scope } from '../adapters/due-store.js';
import { dueExpiries, dueRenewals, dueTrialNotices, dueTries } from '../adapters/due-store.js';
import type { BillingDeps } from './deps.js';
import { collectOne } from './collection.js';
import { eachBounded, expireOne, lostRace, renewOne } from './renewals.js';
import { noticeOne } from './trial-notices.js';

/**
 * All billing work due by a time, on the wall clock (objects on no test clock) or on one test clock:
 * period ends (renewals), payment tries and ends of dunning, trial notices, expiries of incomplete
 * subscriptions. Found in bounded batches, ordered by due time, each item run through the write
 * pipeline with at most `BILLING_WORK_LIMITS.concurrency` at a time. Every item is guarded (a
 * version, a unique key, an idempotency key derived from it), so two runners over the same work, or
 * a run after a crash, do each piece once.
 */
export const BILLING_WORK_LIMITS = {
  /** Items read per query. */
  batch: 200,
  /** Items of a batch in flight at once (each a few statements on the pool). */
  concurrency: 8,
} as const;

export interface WorkDone {
  renewed: number;
  tried: number;
  noticed: number;
  expired: number;
  failed: number;
  /** Items another runner was doing at that moment, or whose payment try is still out (left to it, or to the sweeper). */
  busy: number;
}

export function noWork(): WorkDone {
  return { renewed: 0, tried: 0, noticed: 0, expired: 0, failed: 0, busy: 0 };
}

/** One batch of each kind of work due by `until_s`. Returns what it did; zero items found means nothing is due. */
export async function runDueBatch(deps: BillingDeps, scope: Scope, until_s: number, logger: Logger): Promise<WorkDone & { found: number }> {
  const done = noWork();
  const { batch, concurrency } = BILLING_WORK_LIMITS;
  const guarded = async <T>(kind: string, item: T, work: () => Promise<boolean>, count: keyof WorkDone) => {
    try {
      if (await work()) done[count] += 1;
    } catch (error) {
      // Another runner is doing this very item (its payment try in flight): theirs, not a failure.
      if (lostRace(error)) {
        done.busy += 1;
        return;
      }
      done.failed += 1;
      logger.warn({ err: error, kind, item }, 'billing: a due item failed; it stays due and is retried on the next run');
    }
  };
  const renewals = await dueRenewals(deps.lookup, scope, until_s, batch);
  await eachBounded(renewals, concurrency, (due) => guarded('renewal', due, async () => (await renewOne(deps, due)) === 'renewed', 'renewed'));
  const tries = await dueTries(deps.lookup, scope, until_s, batch);
  await eachBounded(tries, concurrency, (due) =>
    guarded(
      'payment_try',
      due,
      async () => {
        const result = await collectOne(deps, due);
        // A try still out is not this run's work: counted busy, so a run that finds only such tries ends.
        if (result === 'waiting') done.busy += 1;
        return result !== 'idle' && result !== 'waiting';
      },
      'tried',
    ),
  );
  const notices = await dueTrialNotices(deps.lookup, scope, until_s, batch);
  await eachBounded(notices, concurrency, (due) => guarded('trial_notice', due, async () => (await noticeOne(deps, due), true), 'noticed'));
  const expiries = await dueExpiries(deps.lookup, scope, until_s, batch);
  await eachBounded(expiries, concurrency, (due) => guarded('incomplete_expiry', due, async () => (await expireOne(deps, due), true), 'expired'));
  return { ...done, found: renewals.length + tries.length + notices.length + expiries.length };
}

import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, rawSql, run, sql } from '../../../platform/db.js';
import { TRIAL_NOTICE_S } from '../domain/dunning.js';
import { INCOMPLETE_EXPIRY_S } from '../domain/subscription.js';

/**
 * What billing work is due, and when the next is: periods that ended (renewals), payment tries
 * (dunning), `trial_will_end` notices, incomplete subscriptions to expire. Either on the wall clock,
 * across merchants (objects on no test clock: the system pool reads them all), or on one test clock,
 * up to its time. Each query is bounded and ordered by due time, on an index.
 */

export type Scope = { kind: 'wall' } | { kind: 'clock'; merchant_id: string; clock_id: string };

export interface DueRenewal {
  merchant_id: string;
  subscription_id: string;
  period_end: number;
}

export interface DueSubscription {
  merchant_id: string;
  subscription_id: string;
}

export interface DueTry {
  merchant_id: string;
  subscription_id: string;
  period_start: number;
}

export interface DueNotice {
  merchant_id: string;
  subscription_id: string;
  trial_end: number;
}

/** Live statuses billed at period end (an unpaid subscription still opens periods, with draft invoices). */
const LIVE = rawSql(`status IN ('trialing', 'active', 'past_due', 'unpaid')`);

function onScope(scope: Scope, alias = ''): SqlFragment {
  if (scope.kind === 'wall') return rawSql(`${alias}test_clock IS NULL`);
  return joinSql([rawSql(`${alias}merchant_id = `), sql`${scope.merchant_id}`, rawSql(` AND ${alias}test_clock = `), sql`${scope.clock_id}`], '');
}

function where(...conditions: SqlFragment[]): SqlFragment {
  return joinSql(conditions, ' AND ');
}

export async function dueRenewals(db: Db, scope: Scope, until_s: number, limit: number): Promise<DueRenewal[]> {
  const found = await run<DueRenewal>(
    db,
    joinSql(
      [
        rawSql('SELECT merchant_id, id AS subscription_id, current_period_end AS period_end FROM billing.subscriptions WHERE '),
        where(LIVE, sql`current_period_end <= ${until_s}`, onScope(scope)),
        sql` ORDER BY current_period_end LIMIT ${limit}`,
      ],
      '',
    ),
  );
  return found.rows;
}

/** Renewal invoices whose next payment try (or end of dunning) is due. */
export async function dueTries(db: Db, scope: Scope, until_s: number, limit: number): Promise<DueTry[]> {
  const found = await run<DueTry>(
    db,
    joinSql(
      [
        rawSql('SELECT merchant_id, subscription_id, period_start FROM billing.renewals WHERE next_attempt_at IS NOT NULL AND '),
        where(sql`next_attempt_at <= ${until_s}`, onScope(scope)),
        sql` ORDER BY next_attempt_at LIMIT ${limit}`,
      ],
      '',
    ),
  );
  return found.rows;
}

/** Trialing subscriptions three days from their trial's end (or sooner, for a short trial) not yet told. */
export async function dueTrialNotices(db: Db, scope: Scope, until_s: number, limit: number): Promise<DueNotice[]> {
  const found = await run<DueNotice>(
    db,
    joinSql(
      [
        rawSql(`SELECT s.merchant_id, s.id AS subscription_id, (s.state->>'trial_end')::bigint AS trial_end FROM billing.subscriptions s WHERE `),
        where(
          rawSql(`s.status = 'trialing'`),
          sql`(s.state->>'trial_end')::bigint - ${TRIAL_NOTICE_S} <= ${until_s}`,
          onScope(scope, 's.'),
          rawSql(`NOT EXISTS (SELECT 1 FROM billing.trial_notices n WHERE n.merchant_id = s.merchant_id AND n.subscription_id = s.id
            AND n.trial_end = (s.state->>'trial_end')::bigint)`),
        ),
        sql` ORDER BY (s.state->>'trial_end')::bigint LIMIT ${limit}`,
      ],
      '',
    ),
  );
  return found.rows;
}

/** Incomplete subscriptions whose first invoice went unpaid for Stripe's 23 hours. */
export async function dueExpiries(db: Db, scope: Scope, until_s: number, limit: number): Promise<DueSubscription[]> {
  const found = await run<DueSubscription>(
    db,
    joinSql(
      [
        rawSql(`SELECT merchant_id, id AS subscription_id FROM billing.subscriptions WHERE `),
        where(rawSql(`status = 'incomplete'`), sql`created + ${INCOMPLETE_EXPIRY_S} <= ${until_s}`, onScope(scope)),
        sql` ORDER BY created LIMIT ${limit}`,
      ],
      '',
    ),
  );
  return found.rows;
}

/** The earliest time any billing work is due on a test clock (renewal, try, notice, expiry), or null. */
export async function nextDueOnClock(db: Db, merchant_id: string, clock_id: string): Promise<number | null> {
  const scope: Scope = { kind: 'clock', merchant_id, clock_id };
  const found = await run<{ at: number | null }>(
    db,
    joinSql(
      [
        rawSql('SELECT LEAST((SELECT min(current_period_end) FROM billing.subscriptions WHERE '),
        where(LIVE, onScope(scope)),
        rawSql(`), (SELECT min(GREATEST((s.state->>'trial_start')::bigint, (s.state->>'trial_end')::bigint - `),
        sql`${TRIAL_NOTICE_S}`,
        rawSql(`)) FROM billing.subscriptions s WHERE s.status = 'trialing' AND `),
        onScope(scope, 's.'),
        rawSql(` AND NOT EXISTS (SELECT 1 FROM billing.trial_notices n WHERE n.merchant_id = s.merchant_id AND n.subscription_id = s.id
            AND n.trial_end = (s.state->>'trial_end')::bigint)), (SELECT min(created) + `),
        sql`${INCOMPLETE_EXPIRY_S}`,
        rawSql(` FROM billing.subscriptions WHERE status = 'incomplete' AND `),
        onScope(scope),
        rawSql(`), (SELECT min(next_attempt_at) FROM billing.renewals WHERE next_attempt_at IS NOT NULL AND `),
        onScope(scope),
        rawSql(')) AS at'),
      ],
      '',
    ),
  );
  return found.rows[0]?.at ?? null;
}

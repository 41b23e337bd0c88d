import { z } from 'zod';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import * as P from '../../../platform/http/params.js';

/**
 * Chart data from the merchant's attempts (charges): volume and success per day and currency, and
 * what declined. UTC days; amounts in minor units of each currency, never summed across currencies.
 */

export const CHART_DAYS_MAX = 365;
export const chartSchema = z.strictObject({ days: P.integer({ min: 1, max: CHART_DAYS_MAX }).optional() });
const DEFAULT_DAYS = 30;
const DAY_S = 86_400;

export interface VolumeDay {
  day: string;
  currency: string;
  count: number;
  succeeded: number;
  failed: number;
  /** Succeeded attempts' amount, in the currency's minor unit. */
  amount: number;
}

function since(now_s: number, days: number | undefined): number {
  return (Math.floor(now_s / DAY_S) - (days ?? DEFAULT_DAYS) + 1) * DAY_S;
}

export async function volumeByDay(db: Db, merchant_id: string, days: number | undefined, now_s: number): Promise<VolumeDay[]> {
  const result = await run<{ day: string; currency: string; count: string; succeeded: string; failed: string; amount: string }>(
    db,
    sql`
    SELECT to_char(to_timestamp(created) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency, count(*) AS count,
      count(*) FILTER (WHERE status = 'succeeded') AS succeeded, count(*) FILTER (WHERE status = 'failed') AS failed,
      coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS amount
    FROM payments.charges WHERE merchant_id = ${merchant_id} AND created >= ${since(now_s, days)}
    GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return result.rows.map((row) => ({
    day: row.day,
    currency: row.currency,
    count: Number(row.count),
    succeeded: Number(row.succeeded),
    failed: Number(row.failed),
    amount: Number(row.amount),
  }));
}

export async function declineReasons(db: Db, merchant_id: string, days: number | undefined, now_s: number): Promise<{ decline_code: string; count: number }[]> {
  const result = await run<{ decline_code: string; count: string }>(
    db,
    sql`
    SELECT coalesce(state -> 'outcome' ->> 'reason', state ->> 'failure_code', 'unknown') AS decline_code, count(*) AS count
    FROM payments.charges WHERE merchant_id = ${merchant_id} AND created >= ${since(now_s, days)} AND status = 'failed'
    GROUP BY 1 ORDER BY 2 DESC, 1`,
  );
  return result.rows.map((row) => ({ decline_code: row.decline_code, count: Number(row.count) }));
}

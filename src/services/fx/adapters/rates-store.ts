import type { Db, Pool } from '../../../platform/db.js';
import { withTransaction } from '../../../platform/db.js';
import type { EcbDay } from '../domain/ecb.js';

/**
 * fx.rates: the ECB's euro reference rates, one row per day and currency. A published rate never
 * changes, so a load that would change one is refused whole; loading the same file again changes nothing.
 */

export interface LoadSummary {
  /** Days in the file, and rates newly stored (rates already stored are skipped). */
  days: number;
  inserted: number;
  /** The newest day loaded (none when there was nothing to load). */
  latest: string | undefined;
}

export class RateConflictError extends Error {
  override name = 'RateConflictError';
}

/** Stores every rate of `days` in one transaction: all of them, or (on a conflict or any failure) none. */
export async function storeEcbDays(pool: Pool, days: readonly EcbDay[], loaded_at_s: number): Promise<LoadSummary> {
  const dates: string[] = [];
  const currencies: string[] = [];
  const rates: string[] = [];
  for (const day of days) {
    for (const [currency, rate] of day.rates) {
      dates.push(day.date);
      currencies.push(currency);
      rates.push(rate);
    }
  }
  const inserted = await withTransaction(pool, async (client) => {
    const conflicts = await client.query<{ date: string; currency: string; stored: string; rate: string }>(
      `SELECT r.date::text AS date, r.currency, r.rate AS stored, i.rate
         FROM unnest($1::date[], $2::text[], $3::text[]) AS i (date, currency, rate)
         JOIN fx.rates r ON r.date = i.date AND r.currency = i.currency
        WHERE r.rate <> i.rate LIMIT 5`,
      [dates, currencies, rates],
    );
    if (conflicts.rows.length > 0) {
      const listed = conflicts.rows.map((row) => `${row.date} ${row.currency.toUpperCase()} stored ${row.stored}, file ${row.rate}`).join('; ');
      throw new RateConflictError(`the file changes rates already stored (a published rate never changes): ${listed}`);
    }
    const result = await client.query(
      `INSERT INTO fx.rates (date, currency, rate, loaded_at)
       SELECT date, currency, rate, $4 FROM unnest($1::date[], $2::text[], $3::text[]) AS i (date, currency, rate)
       ON CONFLICT (date, currency) DO NOTHING`,
      [dates, currencies, rates, loaded_at_s],
    );
    return result.rowCount ?? 0;
  });
  return { days: days.length, inserted, latest: days.at(-1)?.date };
}

/** Each stored day from `oldest` to `newest` (inclusive, YYYY-MM-DD): currency → rate. */
export async function storedDays(db: Db, oldest: string, newest: string): Promise<Map<string, Map<string, string>>> {
  const { rows } = await db.query<{ date: string; currency: string; rate: string }>(
    'SELECT date::text AS date, currency, rate FROM fx.rates WHERE date BETWEEN $1::date AND $2::date',
    [oldest, newest],
  );
  const days = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const day = days.get(row.date) ?? new Map<string, string>();
    day.set(row.currency, row.rate);
    days.set(row.date, day);
  }
  return days;
}

/** The newest day with a stored rate (YYYY-MM-DD), if any. */
export async function newestStoredDay(db: Db): Promise<string | undefined> {
  const { rows } = await db.query<{ newest: string | null }>('SELECT max(date)::text AS newest FROM fx.rates');
  return rows[0]?.newest ?? undefined;
}

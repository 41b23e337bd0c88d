import { assert } from '../../../kernel/assert.js';
import { run, sql } from '../../../platform/db.js';
import type { Connector } from '../../connectors/index.js';
import { consumerLag } from '../../events/index.js';
import { LEDGER_CONSUMER_NAME } from '../../ledger/index.js';
import type { Pool } from '../../../platform/db.js';
import type { ImportSummary, SettlementDeps } from './import-report.js';
import { importSettlementReport } from './import-report.js';

/**
 * The daily settlement run: each UTC day (batch date) is settled once it is over on the injected
 * clock, by fetching the processor's report for it through the connector port and importing it.
 * `settlement.days` records each day settled, so the run catches up on days it missed (a stopped
 * server, a test that moves its clock by a month) and never settles a day twice; a day whose import
 * failed is not recorded and is tried again on the next run. The first run starts with yesterday.
 * A day waits until the ledger has posted every event created before its end: a capture still in
 * the outbox at midnight would otherwise meet its Settled line unmatched.
 * In live mode the clock is the system clock, so a day is settled only once it has really ended.
 */
export const SETTLEMENT_JOB = 'settlement-daily';
/** Days are due once a day; looking every 10 s is one indexed query and keeps tests that move time quick. */
export const SETTLEMENT_CHECK_INTERVAL_MS = 10_000;
/** Days one run settles at most (a stopped server catches up over several runs). */
export const SETTLEMENT_DAYS_PER_RUN_MAX = 31;
const DAY_MS = 86_400_000;

export interface SettlementRunDeps extends SettlementDeps {
  connector: Connector;
}

export interface DaySettled {
  batch_date: string;
  /** null when the processor settled nothing that day. */
  report: ImportSummary | null;
}

/**
 * Settles one batch date (`YYYY-MM-DD`), again if asked: a report imported before changes nothing.
 * The day must be over on the clock: its batch is recorded once, so settling it early would leave
 * its later captures out of it for good (callers check with `dayIsOver` first).
 */
export async function settleDay(deps: SettlementRunDeps, batch_date: string): Promise<DaySettled> {
  assert(deps.connector.settlementReport !== undefined, `the ${deps.connector.name} connector supplies no settlement reports`);
  assert(dayIsOver(batch_date, deps.clock.now_ms()), `${batch_date} is not over yet (UTC): it cannot be settled before it ends`);
  const source = await deps.connector.settlementReport(batch_date);
  const report = source === null ? null : await importSettlementReport(deps, deps.connector.name, source);
  await run(
    deps.pool,
    sql`INSERT INTO settlement.days (connector, batch_date, batch_number, settled_at_ms)
    VALUES (${deps.connector.name}, ${batch_date}::date, ${report?.batch_number ?? null}, ${deps.clock.now_ms()})
    ON CONFLICT (connector, batch_date) DO NOTHING`,
  );
  return { batch_date, report };
}

/** Settles every day that is over and not yet settled, oldest first, at most SETTLEMENT_DAYS_PER_RUN_MAX. */
export async function settleDueDays(deps: SettlementRunDeps): Promise<DaySettled[]> {
  if (deps.connector.settlementReport === undefined) return [];
  const today_ms = Math.floor(deps.clock.now_ms() / DAY_MS) * DAY_MS;
  const latest = await run<{ latest: string | null }>(
    deps.pool,
    sql`SELECT to_char(max(batch_date), 'YYYY-MM-DD') AS latest FROM settlement.days WHERE connector = ${deps.connector.name}`,
  );
  const latest_date = latest.rows[0]?.latest ?? null;
  let day_ms = latest_date === null ? today_ms - DAY_MS : Date.parse(`${latest_date}T00:00:00Z`) + DAY_MS;
  const settled: DaySettled[] = [];
  for (; day_ms < today_ms && settled.length < SETTLEMENT_DAYS_PER_RUN_MAX; day_ms += DAY_MS) {
    if (!(await ledgerHolds(deps.pool, (day_ms + DAY_MS) / 1000))) break;
    settled.push(await settleDay(deps, batchDate(day_ms)));
  }
  return settled;
}

/** Whether the ledger has posted every event created before `end_s` (its oldest unposted one is later, or there is none). */
export async function ledgerHolds(pool: Pool, end_s: number): Promise<boolean> {
  return (await consumerLag(pool, LEDGER_CONSUMER_NAME, end_s)).seconds_behind === 0;
}

/** Whether the UTC day `batch_date` has ended at `now_ms`. */
export function dayIsOver(batch_date: string, now_ms: number): boolean {
  return Date.parse(`${batch_date}T00:00:00Z`) + DAY_MS <= now_ms;
}

export function batchDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` that names a real day. */
export function isBatchDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && batchDate(Date.parse(`${text}T00:00:00Z`)) === text;
}

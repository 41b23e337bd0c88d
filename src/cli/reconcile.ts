import type { Database } from '../platform/database.js';
import { loadConfig } from '../platform/config.js';
import { systemClock } from '../kernel/clock.js';
import { UlidGenerator } from '../kernel/ids.js';
import { SandboxProcessor } from '../services/connectors/index.js';
import { ledgerRecords } from '../services/payments/index.js';
import type { ReconciliationRun, RunSummary } from '../services/settlement/index.js';
import {
  RECONCILIATION_LIST_MAX,
  SANDBOX_TERMS,
  SettlementReportError,
  dayIsOver,
  isBatchDate,
  reconcileDay,
  reconciliationExceptions,
  reconciliationRun,
  reconciliationRuns,
  sandboxDiscrepancies,
} from '../services/settlement/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/**
 * `payrail reconcile [--date D]` reconciles a day's settlement report against Payrail's books as the
 * scheduled run does (docs/settlement.md#reconciliation): exit 0 when nothing is left open, 1 when an
 * exception is, or the report was refused. `reconcile list` and `reconcile show RUN` read the results.
 */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

const DAY_MS = 86_400_000;
const DEFAULT_LIMIT = 20;

export function reconcileCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['reconcile', 'list'],
      args: [],
      options: {
        date: { type: 'string', value: 'D', description: 'only the runs of this report day (YYYY-MM-DD)' },
        limit: { type: 'string', value: 'N', description: `at most N runs, 1 to ${RECONCILIATION_LIST_MAX} (default ${DEFAULT_LIMIT})` },
      },
      summary: 'reconciliation runs, newest report first: lines, matched, auto-fixed, open',
      run: ({ date, limit }) => {
        const filter = { date: checkedDate(date), limit: checkedLimit(limit) };
        return withDatabase(async (database) => {
          const runs = await reconciliationRuns(database.pool, filter);
          process.stdout.write(runs.length === 0 ? 'No reconciliation runs.\n' : runs.map(runLine).join(''));
          return EXIT_OK;
        });
      },
    }),
    command({
      words: ['reconcile', 'show'],
      args: ['RUN'],
      options: { limit: { type: 'string', value: 'N', description: `at most N exceptions, 1 to ${RECONCILIATION_LIST_MAX} (default ${DEFAULT_LIMIT})` } },
      summary: "a reconciliation run and its exceptions, each with the report line and Payrail's record",
      run: ({ limit }, [id = '']) => {
        const count = checkedLimit(limit);
        return withDatabase(async (database) => {
          const found = await reconciliationRun(database.pool, id);
          if (!found) {
            process.stderr.write(`No such reconciliation run: ${id.slice(0, 64)}\n`);
            return EXIT_PROBLEM;
          }
          process.stdout.write(runLine(found));
          for (const exception of await reconciliationExceptions(database.pool, found.id, count)) process.stdout.write(`${JSON.stringify(exception)}\n`);
          return EXIT_OK;
        });
      },
    }),
    command({
      words: ['reconcile'],
      args: [],
      options: { date: { type: 'string', value: 'D', description: 'the report day to reconcile, YYYY-MM-DD (default: yesterday, UTC)' } },
      summary: "reconcile a day's settlement report against Payrail's books (exit 1 when exceptions stay open)",
      run: ({ date }) => {
        const day = checkedDate(date) ?? new Date(systemClock.now_ms() - DAY_MS).toISOString().slice(0, 10);
        // A run stands for its day: one of a day not over would never be redone by the scheduled run.
        if (!dayIsOver(day, systemClock.now_ms())) throw new UsageError(`--date ${day} is not over yet (UTC): a day is reconciled once it has ended`);
        return withDatabase(async (database) => {
          // The bundled processor, whose records are in this database, with the test-mode fault knob if set.
          const reports = sandboxDiscrepancies(new SandboxProcessor({ pool: database.pool }), process.env, loadConfig().mode);
          const deps = { pool: database.pool, payments: ledgerRecords, terms: SANDBOX_TERMS, ids: new UlidGenerator(), clock: systemClock, reports };
          try {
            const summary = await reconcileDay(deps, day);
            process.stdout.write(summaryLine(summary));
            return summary.open > 0 ? EXIT_PROBLEM : EXIT_OK;
          } catch (error) {
            if (!(error instanceof SettlementReportError)) throw error;
            process.stderr.write(`reconcile: report refused whole, nothing kept: ${error.message}\n`);
            return EXIT_PROBLEM;
          }
        });
      },
    }),
  ];
}

function checkedDate(date: string | undefined): string | undefined {
  if (date !== undefined && !isBatchDate(date)) throw new UsageError('--date must be a day, YYYY-MM-DD');
  return date;
}

function checkedLimit(text: string | undefined): number {
  const limit = Number(text ?? DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > RECONCILIATION_LIST_MAX) throw new UsageError(`--limit must be 1 to ${RECONCILIATION_LIST_MAX}`);
  return limit;
}

function runLine(run: ReconciliationRun): string {
  return `${run.id}  ${run.report_date}  report ${run.report_id}: ${run.lines} lines, ${run.matched} matched, ${run.auto_fixed} auto-fixed, ${run.open} open\n`;
}

function summaryLine(summary: RunSummary): string {
  const found = Object.entries(summary.by_class)
    .filter(([, n]) => n > 0)
    .map(([cls, n]) => `${n} ${cls}`)
    .join(', ');
  return `${summary.run_id}  ${summary.report_date}  report ${summary.report_id}: ${summary.lines} lines, ${summary.matched} matched, ${summary.auto_fixed} auto-fixed, ${summary.open} open${found ? ` (new: ${found})` : ''}\n`;
}

import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { systemClock } from '../kernel/clock.js';
import { SandboxProcessor } from '../services/connectors/index.js';
import type { DaySettled } from '../services/settlement/index.js';
import { SettlementReportError, dayIsOver, isBatchDate, sandboxDiscrepancies, settleDay, settleDueDays } from '../services/settlement/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/**
 * `payrail settle [--date D]`: settles with the processor as the daily run does (docs/settlement.md),
 * against the server's database, running or not. Without --date it settles every day that is over
 * and not settled yet; with it, that day (again, if asked: a report imported before changes nothing).
 */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

export function settlementCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['settle'],
      args: [],
      options: { date: { type: 'string', value: 'D', description: 'settle this UTC day (YYYY-MM-DD) only' } },
      summary: "import the processor's settlement reports into the ledger (every day due, or --date D)",
      run: ({ date }) => {
        if (date !== undefined && !isBatchDate(date)) throw new UsageError('--date must be a day, YYYY-MM-DD');
        if (date !== undefined && !dayIsOver(date, systemClock.now_ms()))
          throw new UsageError(`--date ${date} is not over yet (UTC): a day is settled once it has ended`);
        return withDatabase(async (database) => {
          // The bundled processor, whose records are in this database, with the test-mode fault knob if set (as the server reads it).
          const connector = sandboxDiscrepancies(new SandboxProcessor({ pool: database.pool }), process.env, loadConfig().mode);
          const deps = { pool: database.pool, clock: systemClock, connector };
          try {
            const days = date === undefined ? await settleDueDays(deps) : [await settleDay(deps, date)];
            process.stdout.write(days.length === 0 ? 'settle: nothing due\n' : days.map(describe).join(''));
            return EXIT_OK;
          } catch (error) {
            if (!(error instanceof SettlementReportError)) throw error;
            process.stderr.write(`settle: report refused, nothing imported: ${error.message}\n`);
            return EXIT_PROBLEM;
          }
        });
      },
    }),
  ];
}

function describe(day: DaySettled): string {
  if (day.report === null) return `${day.batch_date}: nothing settled\n`;
  const { batch_number, lines, staged_now, outcomes } = day.report;
  const counts = Object.entries(outcomes)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(', ');
  return `${day.batch_date}: batch ${batch_number}, ${lines} lines${staged_now ? '' : ' (imported before)'}: ${counts}\n`;
}

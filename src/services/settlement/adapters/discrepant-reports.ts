import { assert } from '../../../kernel/assert.js';
import type { DiscrepancyPlan, Injection } from '../domain/discrepancies.js';
import { injectDiscrepancies, validatePlan } from '../domain/discrepancies.js';
import { addDays } from '../domain/reconciliation.js';
import type { SettlementLine } from '../domain/settlement-report.js';
import type { SettlementReports } from '../app/reconcile-day.js';
import { readSettlementReport, serializeSettlementReportChunks } from './settlement-report-csv.js';

/**
 * Test mode only: a processor whose settlement reports carry the faults of a plan
 * (domain/discrepancies.ts), for proving reconciliation. It reads the processor's clean report of the
 * day and of the day before (whose late lines settle today), puts the faults in, and writes the CSV
 * again, so whoever reads the report — the settlement import, reconciliation — sees the same faulty
 * one. It holds a day's two reports in memory: a sandbox's, never a production volume.
 */
export const DISCREPANT_REPORT_LINES_MAX = 2_000_000;

export function withDiscrepancies<C extends SettlementReports>(
  processor: C,
  plan: DiscrepancyPlan,
  observe: (batch_date: string, injected: readonly Injection[]) => void = () => {},
): C {
  validatePlan(plan);
  const clean = async (batch_date: string): Promise<SettlementLine[]> => {
    const csv = await processor.settlementReport?.(batch_date);
    const lines = csv ? await readSettlementReport(csv) : [];
    assert(lines.length <= DISCREPANT_REPORT_LINES_MAX, 'a sandbox report too large to put faults in');
    return lines;
  };
  const settlementReport = async (batch_date: string): Promise<AsyncIterable<string> | null> => {
    const [today, yesterday] = await Promise.all([clean(batch_date), clean(addDays(batch_date, -1))]);
    const faulty = injectDiscrepancies(today, yesterday, plan);
    observe(batch_date, faulty.injected);
    if (faulty.lines.length === 0) return null;
    return toAsync(serializeSettlementReportChunks(faulty.lines));
  };
  // The same processor in every other respect: only its reports change.
  return new Proxy(processor, {
    get(target, property) {
      if (property === 'settlementReport') return settlementReport;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The processor the platform settles and reconciles with: the given one, or in test mode with
 * PAYRAIL_SANDBOX_DISCREPANCIES set, the same with that plan's faults in its reports. Live mode
 * refuses the setting: faults are for proving reconciliation, never for real money.
 */
export function sandboxDiscrepancies<C extends SettlementReports>(processor: C, env: NodeJS.ProcessEnv, mode: 'test' | 'live'): C {
  const plan = parseDiscrepancyPlan(env.PAYRAIL_SANDBOX_DISCREPANCIES);
  if (plan === undefined) return processor;
  if (mode === 'live') throw new Error('PAYRAIL_SANDBOX_DISCREPANCIES puts faults into settlement reports: test mode only (docs/settlement.md)');
  return withDiscrepancies(processor, plan);
}

async function* toAsync(chunks: Iterable<string>): AsyncGenerator<string> {
  for (const chunk of chunks) yield chunk;
}

/**
 * The knob, as PAYRAIL_SANDBOX_DISCREPANCIES spells it: `seed=S,amount_mismatch=200,duplicate=100`
 * (each kind in lines per million). Returns undefined when unset; throws on anything else.
 */
export function parseDiscrepancyPlan(text: string | undefined): DiscrepancyPlan | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const plan: DiscrepancyPlan = { seed: '', rates_ppm: {} };
  for (const part of text.split(',')) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim());
    if (key === 'seed') plan.seed = value;
    else (plan.rates_ppm as Record<string, number>)[key] = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  }
  validatePlan(plan);
  return plan;
}

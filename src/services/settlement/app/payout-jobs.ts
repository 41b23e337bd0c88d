import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Scheduler } from '../../../platform/scheduler.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { Clock } from '../../../kernel/clock.js';
import type { SecretSealer } from '../../vault/index.js';
import type { BankRail } from '../domain/bank-port.js';
import { SandboxBank } from '../adapters/sandbox-bank.js';
import { PAYOUT_BANK_INTERVAL_MS, PAYOUT_BANK_JOB, processPayoutsInFlight } from './payout-bank.js';
import type { ScheduleRunResult } from './payout-schedule.js';
import { PAYOUT_SCHEDULE_INTERVAL_MS, PAYOUT_SCHEDULE_JOB, runPayoutSchedule } from './payout-schedule.js';

/** The payout work a process runs on the durable scheduler, also callable by hand (tests, the bench). */
export interface PayoutJobs {
  /** One scheduled run for the clock's current day: automatic payouts due today, each made once. */
  runSchedule(): Promise<ScheduleRunResult>;
  /** Takes pending and in-transit payouts through the bank; returns how many ended (paid or failed). */
  processInFlight(): Promise<number>;
}

export interface PayoutJobDeps {
  write: WriteDeps;
  /** The system role's pool (work across merchants). */
  system: Pool;
  clock: Clock;
  logger: Logger;
  sealer: SecretSealer;
  /** The bank rail; the sandbox bank (Stripe's test numbers, answering at once) unless given. */
  bank?: BankRail;
  /** When given, both jobs run on it, one process at a time (register before it starts). */
  scheduler?: Scheduler;
}

export function startPayoutJobs(deps: PayoutJobDeps): PayoutJobs {
  const bank = deps.bank ?? new SandboxBank(deps.system);
  const jobs: PayoutJobs = {
    runSchedule: () => runPayoutSchedule(deps),
    processInFlight: () => processPayoutsInFlight({ ...deps, bank }),
  };
  deps.scheduler?.every(PAYOUT_BANK_JOB, { interval_ms: PAYOUT_BANK_INTERVAL_MS }, async () => {
    await jobs.processInFlight();
  });
  deps.scheduler?.every(PAYOUT_SCHEDULE_JOB, { interval_ms: PAYOUT_SCHEDULE_INTERVAL_MS }, async () => {
    await jobs.runSchedule();
  });
  return jobs;
}

import { poolLimits } from '../platform/config.js';
import { metrics } from '../platform/metrics.js';
import { openReplicationReader } from '../platform/replication.js';
import { createScheduler } from '../platform/scheduler.js';
import { purgeExpired } from '../platform/write/idempotency.js';
import { scheduleLedgerRelease } from '../services/ledger/index.js';
import { scheduleRequestLogPurge } from '../services/dashboard/index.js';
import type { DaySettled, PayoutJobs, RunSummary } from '../services/settlement/index.js';
import {
  RECONCILE_CHECK_INTERVAL_MS,
  RECONCILE_JOB,
  SANDBOX_TERMS,
  SETTLEMENT_CHECK_INTERVAL_MS,
  SETTLEMENT_JOB,
  reconcileSettledDays,
  sandboxDiscrepancies,
  settleDueDays,
  startPayoutJobs,
} from '../services/settlement/index.js';
import type { WorkDone } from '../services/billing/index.js';
import { runBillingWork, scheduleBillingWork } from '../services/billing/index.js';
import { CHECKOUT_EXPIRY_INTERVAL_MS, CHECKOUT_EXPIRY_JOB, expireDueSessions } from '../services/checkout/index.js';
import type { DisputesDeps } from '../services/disputes/index.js';
import {
  DISPUTE_DECISION_INTERVAL_MS,
  DISPUTE_DECISION_JOB,
  PROCESSOR_NOTIFICATIONS_INTERVAL_MS,
  PROCESSOR_NOTIFICATIONS_JOB,
  decideDueDisputes,
  deliverProcessorNotifications,
} from '../services/disputes/index.js';
import type { PaymentsDeps } from '../services/payments/index.js';
import {
  ORPHAN_SWEEP_INTERVAL_MS,
  ORPHAN_SWEEP_JOB,
  ORPHAN_SWEEP_TIMEOUT_MS,
  ledgerRecords,
  settleOrphanedCalls,
  unsettledCallAge,
} from '../services/payments/index.js';
import { billingDeps, checkoutDeps, disputesDeps } from '../service-wiring.js';
import type { Core } from './core.js';

/**
 * The `scheduler` role: every timed job, on pg-boss, which runs each job in one process at a time
 * however many schedulers run — so replicas are safe and one takes over when another dies.
 */

/** Expired Idempotency-Keys are purged every ten minutes. */
const IDEMPOTENCY_PURGE_CRON = '*/10 * * * *';

export interface SchedulerRole {
  /** The disputes service as the jobs run it (tests drive its notification handler and decision job). */
  disputes: DisputesDeps;
  payouts: PayoutJobs;
  settlement: { runDue(): Promise<DaySettled[]> };
  reconciliation: { runDue(): Promise<RunSummary[]> };
  billing: { runDue(): Promise<WorkDone> };
  stop(): Promise<void>;
}

export async function startSchedulerRole(core: Core): Promise<SchedulerRole> {
  const { config, database, clock, ids, logger } = core;
  const { services, fx } = await core.payments();
  const { write, payments } = services;
  // pg-boss creates and upgrades its own schema over the owner's login when this process has it; without
  // it (PAYRAIL_MIGRATE=off), `payrail migrate` prepared the schema and the system role runs the jobs.
  const scheduler = createScheduler({ database_url: database.owner_url ?? database.urls.system, migrate: database.owner_url !== undefined, logger });
  scheduler.every('idempotency-purge', { cron: IDEMPOTENCY_PURGE_CRON }, async () => {
    await purgeExpired(database.pool, clock.now_ms());
  });
  fx.scheduleRefresh(scheduler);
  scheduleLedgerRelease(scheduler, { pool: database.pool, clock, logger });
  scheduleRequestLogPurge(scheduler, { pool: database.pool, clock });
  // Processor calls whose caller died: found across merchants through the system role, each settled
  // through the write pipeline as its merchant.
  const across_merchants: PaymentsDeps = { ...payments, reader: database.pool };
  const sweep = async () => {
    await settleOrphanedCalls(across_merchants, write, logger);
  };
  scheduler.every(ORPHAN_SWEEP_JOB, { interval_ms: ORPHAN_SWEEP_INTERVAL_MS }, sweep, { timeout_ms: ORPHAN_SWEEP_TIMEOUT_MS });
  // Open Checkout Sessions past their expires_at expire (or complete, if their payment went through).
  scheduler.every(CHECKOUT_EXPIRY_JOB, { interval_ms: CHECKOUT_EXPIRY_INTERVAL_MS }, async () => {
    await expireDueSessions(checkoutDeps(database, services), logger);
  });
  const disputes = disputesDeps(database, services);
  scheduler.every(PROCESSOR_NOTIFICATIONS_JOB, { interval_ms: PROCESSOR_NOTIFICATIONS_INTERVAL_MS }, async () => {
    await deliverProcessorNotifications(disputes, logger);
  });
  scheduler.every(DISPUTE_DECISION_JOB, { interval_ms: DISPUTE_DECISION_INTERVAL_MS }, async () => {
    await decideDueDisputes(disputes, logger);
  });
  const payouts = startPayoutJobs({ write, system: database.pool, clock, logger, sealer: payments.vault.sealer('bank_accounts'), scheduler });
  // In test mode PAYRAIL_SANDBOX_DISCREPANCIES puts a seeded plan of faults into the processor's reports (docs/settlement.md).
  const reporting = sandboxDiscrepancies(services.settlement_processor, process.env, config.mode);
  const settlement = { runDue: () => settleDueDays({ pool: database.pool, clock, connector: reporting }) };
  scheduler.every(SETTLEMENT_JOB, { interval_ms: SETTLEMENT_CHECK_INTERVAL_MS }, async () => {
    const settled = await settlement.runDue();
    if (settled.length > 0) logger.info({ days: settled.map((day) => day.batch_date) }, 'settlement: days settled');
  });
  const reconciliation = {
    runDue: () => reconcileSettledDays({ pool: database.pool, payments: ledgerRecords, terms: SANDBOX_TERMS, ids, clock, reports: reporting }, logger),
  };
  scheduler.every(RECONCILE_JOB, { interval_ms: RECONCILE_CHECK_INTERVAL_MS }, async () => {
    await reconciliation.runDue();
  });
  const billing = billingDeps(database, services, logger);
  scheduleBillingWork(billing, scheduler, logger);
  const unregister_unsettled = metrics.registerUnsettledCalls(() => unsettledCallAge(across_merchants, clock.now_ms()));
  // The standbys' lag is visible to the owner only (platform/replication.ts): without its login, not reported.
  const replication = database.owner_url ? openReplicationReader(database.owner_url, poolLimits(config)) : undefined;
  const unregister_replication = replication ? metrics.registerReplication(() => replication.read()) : () => {};
  await scheduler.start();
  return {
    disputes,
    payouts,
    settlement,
    reconciliation,
    billing: { runDue: () => runBillingWork(billing, logger) },
    stop: async () => {
      await scheduler.stop();
      unregister_unsettled();
      unregister_replication();
      await replication?.close();
    },
  };
}

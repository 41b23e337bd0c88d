import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/compose.js';
import { startPlatform } from '../../src/compose.js';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { NodeName } from '../support/ha-cluster.js';
import { HaCluster } from '../support/ha-cluster.js';

/**
 * Patroni failover under payment load (docs/operations.md, "Primary lost"). Payrail runs on the
 * cluster of deploy/ha/cluster.sh through HAProxy; a few loops pay with the official SDK (retries on,
 * each payment its own Idempotency-Key) while the primary is crashed (SIGKILL of its postmaster) or
 * stalled (SIGSTOP of the whole node). Payments must succeed again on the new primary with no
 * restart of Payrail, and there: every payment the client saw succeed exists (synchronous
 * replication), none is charged twice (one succeeded charge, one processor authorization), one
 * answered `processing` (the processor's outcome unknown as the primary died) is settled by the
 * sweeper, and the ledger verifies. The RTO (longest time with no successful payment) is printed.
 */
const SECRET_KEY = 'sk_test_payrailHaFailover0000000001';
const DATABASE = 'payrail';
const PAYING_LOOPS = 4;
const SDK_RETRIES = 6;
const SDK_TIMEOUT_MS = 20_000;
/** Successes before the fault, so the load is really running when it hits. */
const WARM_PAYMENTS = 20;
/** Successes after the fault that show payments are back, and keep coming. */
const RECOVERED_PAYMENTS = 30;
const FAILOVER_MAX_MS = 60_000;
const REJOIN_MAX_MS = 90_000;
const LEDGER_SETTLED_MAX_MS = 30_000;
/** The sweeper settles an attempt of unknown outcome by inquiry, or fails it once the resend window (30 s) passes. */
const UNKNOWN_SETTLED_MAX_MS = 60_000;
const SESSIONS_BACK_MAX_MS = 30_000;
const CLUSTER_START_MAX_MS = 120_000;
const DRILL_MAX_MS = 240_000;

let cluster: HaCluster;
let platform: Platform;
let data_dir: string;
let stripe: Stripe;
let next_amount = 1_000;

beforeAll(async () => {
  cluster = await HaCluster.start();
  const admin = new pg.Client({ connectionString: cluster.url('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-ha-data-'));
  platform = await startPlatform(
    {
      ...loadConfig({}),
      port: 0,
      database_url: cluster.url(DATABASE),
      data_dir,
      bootstrap_secret_key: SECRET_KEY,
      sandbox_latency_ms: 20,
      metrics_port: 0,
    },
    { logger: createLogger('error') },
  );
  const { hostname, port } = new URL(platform.url);
  stripe = new Stripe(SECRET_KEY, {
    apiVersion: '2023-08-16',
    host: hostname,
    port: Number(port),
    protocol: 'http',
    maxNetworkRetries: SDK_RETRIES,
    timeout: SDK_TIMEOUT_MS,
    telemetry: false,
  });
}, CLUSTER_START_MAX_MS);

afterAll(async () => {
  await platform?.stop();
  await cluster?.stop();
  if (data_dir) rmSync(data_dir, { recursive: true, force: true });
}, 60_000);

interface Paid {
  id: string;
  amount: number;
  done_at: number;
}

interface Load {
  paid: Paid[];
  /** Answered `processing`: the processor's outcome was unknown when the primary died (Stripe's answer too). */
  unknown: Paid[];
  failures: unknown[];
  stop(): Promise<void>;
}

/** Each loop pays one payment after another, each with its own key and a distinct amount. */
function startLoad(): Load {
  const paid: Paid[] = [];
  const unknown: Paid[] = [];
  const failures: unknown[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const amount = next_amount++;
      try {
        const intent = await stripe.paymentIntents.create(
          { amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
          { idempotencyKey: randomUUID() },
        );
        const answered = { id: intent.id, amount, done_at: performance.now() };
        if (intent.status === 'succeeded') paid.push(answered);
        else if (intent.status === 'processing') unknown.push(answered);
        else failures.push(new Error(`${intent.id} ended ${intent.status}`));
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const loops = Array.from({ length: PAYING_LOOPS }, loop);
  return {
    paid,
    unknown,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function until(what: string, timeout_ms: number, done: () => boolean): Promise<void> {
  const deadline = performance.now() + timeout_ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The longest time with no successful payment during the drill (the RTO), and when the first came after the fault. */
function recovery(paid: readonly Paid[], fault_at: number): { rto_ms: number; first_after_ms: number } {
  const times = paid.map((p) => p.done_at).sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  // Answers of payments committed just before the fault can still arrive after it.
  const first_after = times.find((t) => t > fault_at) ?? Number.NaN;
  return { rto_ms: Math.round(Math.max(...gaps)), first_after_ms: Math.round(first_after - fault_at) };
}

/** A failed payment the client gave up on must have been refused as retryable, never as a server bug. */
function expectRetryable(error: unknown): void {
  if (error instanceof Stripe.errors.StripeConnectionError) return;
  expect(error, String(error)).toBeInstanceOf(Stripe.errors.StripeError);
  const stripe_error = error as Stripe.errors.StripeError;
  expect([409, 503]).toContain(stripe_error.statusCode);
}

/**
 * Each payment answered `processing` is settled by the sweeper without a retry from the client: it
 * succeeds if the processor made the authorization, else it fails and the processor holds none.
 */
async function settledUnknowns(unknown: readonly Paid[]): Promise<{ succeeded: Paid[]; failed: Paid[] }> {
  const succeeded: Paid[] = [];
  const failed: Paid[] = [];
  for (const answered of unknown) {
    const deadline = performance.now() + UNKNOWN_SETTLED_MAX_MS;
    let status = (await stripe.paymentIntents.retrieve(answered.id)).status;
    while (status === 'processing' && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = (await stripe.paymentIntents.retrieve(answered.id)).status;
    }
    expect(['succeeded', 'requires_payment_method'], answered.id).toContain(status);
    (status === 'succeeded' ? succeeded : failed).push(answered);
  }
  return { succeeded, failed };
}

/** On the node that now leads, read directly (not through HAProxy): what survived and what was charged. */
async function expectNothingLostNothingDoubled(leader: NodeName, paid: readonly Paid[], failed: readonly Paid[]): Promise<void> {
  const db = new pg.Pool({ connectionString: cluster.nodeUrl(leader, DATABASE), max: 2 });
  try {
    const found = await db.query<{ id: string; status: string }>('SELECT id, status FROM payments.payment_intents WHERE id = ANY($1::text[])', [
      paid.map((p) => p.id),
    ]);
    expect(found.rows.filter((row) => row.status === 'succeeded').length).toBe(paid.length);
    const doubled = await db.query(`SELECT payment_intent_id FROM payments.charges WHERE status = 'succeeded' GROUP BY payment_intent_id HAVING count(*) > 1`);
    expect(doubled.rows).toEqual([]);
    // Amounts are distinct per payment: the processor's own record authorized each exactly once.
    const attempts = await db.query<{ amount: number; n: number }>('SELECT amount, count(*)::int AS n FROM sandbox.attempts GROUP BY amount');
    expect(attempts.rows.filter((row) => row.n > 1)).toEqual([]);
    const authorized = new Set(attempts.rows.map((row) => row.amount));
    expect(paid.filter((p) => !authorized.has(p.amount))).toEqual([]);
    expect(failed.filter((p) => authorized.has(p.amount))).toEqual([]);
    await expectLedgerVerifies(db);
    await expectLongLivedSessionsBack(db);
  } finally {
    await db.end();
  }
}

/**
 * Payrail's long-lived sessions found the new primary by themselves: the process lease, the scheduler
 * (pg-boss) and the LISTEN connection of the API-key cache.
 */
async function expectLongLivedSessionsBack(db: pg.Pool): Promise<void> {
  const deadline = performance.now() + SESSIONS_BACK_MAX_MS;
  for (;;) {
    const sessions = await db.query<{ lease: number; scheduler: number; listening: number }>(
      `SELECT count(*) FILTER (WHERE application_name = 'payrail-lease')::int AS lease,
              count(*) FILTER (WHERE application_name = 'payrail-scheduler')::int AS scheduler,
              count(*) FILTER (WHERE query LIKE 'LISTEN %')::int AS listening
         FROM pg_stat_activity WHERE datname = $1`,
      [DATABASE],
    );
    const found = sessions.rows[0];
    const back = found !== undefined && found.lease > 0 && found.scheduler > 0 && found.listening > 0;
    if (back || performance.now() > deadline) {
      expect(back, JSON.stringify(found)).toBe(true);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function expectLedgerVerifies(db: pg.Pool): Promise<void> {
  const deadline = performance.now() + LEDGER_SETTLED_MAX_MS;
  for (;;) {
    const report = await verifyLedger(db, Math.floor(Date.now() / 1000), ledgerRecords);
    if ((report.problem_count === 0 && report.in_flight === 0) || performance.now() > deadline) {
      expect(report.problems).toEqual([]);
      expect(report.in_flight).toBe(0);
      expect(report.counts.charges).toBeGreaterThan(0);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function drill(name: string, fault: (leader: NodeName) => () => void): Promise<void> {
  const old_leader = await cluster.waitForHealthy(REJOIN_MAX_MS);
  const load = startLoad();
  try {
    await until('payments before the fault', FAILOVER_MAX_MS, () => load.paid.length >= WARM_PAYMENTS);
    const fault_at = performance.now();
    const recover = fault(old_leader);
    const new_leader = await cluster.waitForLeaderOtherThan(old_leader, FAILOVER_MAX_MS);
    const promoted_ms = Math.round(performance.now() - fault_at);
    const paid_before = load.paid.filter((p) => p.done_at <= fault_at).length;
    await until('payments on the new primary', FAILOVER_MAX_MS, () => load.paid.length >= paid_before + RECOVERED_PAYMENTS);
    recover();
    await load.stop();
    const { rto_ms, first_after_ms } = recovery(load.paid, fault_at);
    console.log(
      `[ha] ${name}: ${old_leader} -> ${new_leader}; promoted after ${promoted_ms} ms; RTO (no successful payment) ${rto_ms} ms; ` +
        `first payment ${first_after_ms} ms after the fault; ${load.paid.length} payments acknowledged, ` +
        `${load.unknown.length} answered processing, ${load.failures.length} given up by the client`,
    );
    for (const error of load.failures) expectRetryable(error);
    const settled = await settledUnknowns(load.unknown);
    await expectNothingLostNothingDoubled(new_leader, [...load.paid, ...settled.succeeded], settled.failed);
    // The old primary rejoins as the new one's synchronous standby (pg_rewind), ready for the next drill.
    expect(await cluster.waitForHealthy(REJOIN_MAX_MS)).toBe(new_leader);
  } finally {
    await load.stop();
  }
}

describe('Patroni failover under payment load', () => {
  it('SIGKILL of the primary: nothing acknowledged is lost, nothing charged twice, the ledger verifies', { timeout: DRILL_MAX_MS }, async () => {
    await drill('SIGKILL of the primary postmaster', (leader) => {
      cluster.killPostmaster(leader);
      return () => {};
    });
  });

  it('reports the synchronous standby and its replication lag as metrics', async () => {
    await cluster.waitForHealthy(REJOIN_MAX_MS);
    const scrape = await fetch(platform.metrics_url!).then((response) => response.text());
    expect(scrape).toMatch(/^payrail_db_synchronous_standbys 1$/m);
    expect(scrape).toMatch(/^payrail_db_replication_lag_bytes\{standby="node[12]",sync_state="sync"\} \d+$/m);
    expect(scrape).toMatch(/^payrail_db_replication_lag_seconds\{standby="node[12]",sync_state="sync"\} [\d.e-]+$/m);
  });

  it('SIGSTOP of the primary node (a stall): the same, once Patroni fences it on SIGCONT', { timeout: DRILL_MAX_MS }, async () => {
    await drill('SIGSTOP of the primary node', (leader) => {
      const frozen = cluster.freeze(leader);
      return () => cluster.thaw(frozen);
    });
  });
});

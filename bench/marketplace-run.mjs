// Marketplace flow (issue 19) against plain payments, both measured in the same run.
//
// Run: DATABASE_URL=postgres://… npx vite-node bench/marketplace-run.mjs   (BENCH_RIDES, default 2000)
// `npm run bench` runs it as its `marketplace` group (bench/marketplace.mjs; BENCH_SCENARIOS=marketplace alone).
//
// A fresh database (payrail_bench_marketplace_<random>, dropped at the end). The whole platform runs in
// this process on a manual clock (its scheduler too), driven through the official SDK over loopback,
// CONCURRENCY requests at a time. Set-up, not timed: BENCH_RIDES / RIDES_PER_DRIVER drivers, each a
// connected account (POST /v1/accounts) with a bank account and the default daily schedule. Then, timed:
//
//   1. baseline: BENCH_RIDES plain payments (POST /v1/payment_intents confirm=true, pm_card_visa), until
//      the ledger has posted every capture;
//   2. marketplace: BENCH_RIDES rides, each a destination charge to its driver with an application fee
//      (the same create + confirm, plus transfer_data[destination] and application_fee_amount), until the
//      ledger has posted every capture, transfer and fee; then the clock moves past the drivers'
//      settlement delay and the day's scheduled payout run pays each driver once (runSchedule), and the
//      bank worker takes every payout to `paid` (processInFlight until none is left).
//
// Per phase: rides (payments)/s, and per operation the CPU of this process (Payrail and the SDK client
// together, the same client in both phases), PostgreSQL's backends' CPU and the WAL written
// (bench/resources.mjs). The marketplace's ratio to the baseline is the price of a ride over a payment.
// Checked after: one paid payout per driver of exactly its rides' shares, no driver balance left, and
// `ledger verify` clean (exit 1 otherwise).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { loadConfig } from '../src/platform/config.js';
import { createLogger } from '../src/platform/logger.js';
import { ManualClock } from '../src/kernel/clock.js';
import { startPlatform } from '../src/compose.js';
import { consumerLag } from '../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../src/services/payments/index.js';
import { startResourceMeter } from './resources.mjs';

const RIDES = Number(process.env.BENCH_RIDES ?? 2_000);
const RIDES_PER_DRIVER = 4;
const CONCURRENCY = 16;
const FEE_PERCENT = 20;
const DAY_MS = 86_400_000;
/** Past the default schedule's two days of settlement delay. */
const DELAY_PASSED_MS = 3 * DAY_MS;
const SECRET_KEY = 'sk_test_benchMarketplace00000000000001';
const admin_url = process.env.DATABASE_URL;
if (!admin_url) throw new Error('set DATABASE_URL (a PostgreSQL the bench may create a database on)');
if (!Number.isSafeInteger(RIDES) || RIDES < RIDES_PER_DRIVER) throw new Error(`BENCH_RIDES must be an integer >= ${RIDES_PER_DRIVER}`);
const DRIVERS = Math.floor(RIDES / RIDES_PER_DRIVER);

const name = `payrail_bench_marketplace_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: admin_url });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(admin_url);
url.pathname = `/${name}`;
const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-marketplace-'));
/** Monday 5 January 2026, 08:00 UTC. */
const clock = new ManualClock(Date.UTC(2026, 0, 5, 8));
const config = {
  ...loadConfig({}),
  database_url: url.toString(),
  data_dir,
  db_pool_max: 20,
  log_level: 'warn',
  port: 0,
  host: '127.0.0.1',
  metrics_port: 0,
  bootstrap_secret_key: SECRET_KEY,
};

const feeOf = (amount) => Math.floor((amount * FEE_PERCENT) / 100);
/** Ride amounts vary a little, as fares do: 10.00 to 29.99. */
const fareOf = (n) => 1_000 + ((n * 7_919) % 2_000);

/** `count` calls of `work(n)`, CONCURRENCY at a time. */
async function inParallel(count, work) {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function ledgerCaughtUp(pool) {
  while ((await consumerLag(pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Times `work`, metering this process's CPU, PostgreSQL's and the WAL over it, per `operations`. */
async function measured(label, operations, work) {
  const meter = await startResourceMeter({ server_pid: process.pid, database_url: url.toString() });
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const costs = await meter.stop(operations);
  return {
    label,
    operations,
    seconds,
    per_s: operations / seconds,
    process_cpu_us_per_op: costs.server_cpu_ms_per_op * 1000,
    postgres_cpu_us_per_op: costs.postgres_cpu_ms_per_op * 1000,
    wal_bytes_per_op: costs.wal_bytes_per_op,
    autovacuum_runs: costs.autovacuum_runs.length,
  };
}

async function setUpDrivers(stripe) {
  const drivers = [];
  await inParallel(DRIVERS, async (n) => {
    const account = await stripe.accounts.create({ type: 'express', country: 'US', capabilities: { transfers: { requested: true } } });
    await stripe.accounts.createExternalAccount(account.id, {
      external_account: { object: 'bank_account', country: 'US', currency: 'usd', routing_number: '110000000', account_number: '000123456789' },
    });
    drivers[n] = account.id;
  });
  return drivers;
}

/** What the run must have paid: one paid payout per driver of its rides' shares, and no balance left. */
async function checkPayouts(owner, drivers) {
  const expected = new Map(drivers.map((id) => [id, 0]));
  for (let n = 0; n < RIDES; n++) {
    const driver = drivers[n % DRIVERS];
    expected.set(driver, expected.get(driver) + fareOf(n) - feeOf(fareOf(n)));
  }
  const paid = await owner.query(
    `SELECT merchant_id, status, (state->>'amount')::bigint AS amount FROM settlement.payouts WHERE merchant_id = ANY($1::text[])`,
    [drivers],
  );
  const wrong = paid.rows.filter((row) => row.status !== 'paid' || Number(row.amount) !== expected.get(row.merchant_id));
  const left = await owner.query(
    `SELECT count(*)::int AS n FROM ledger.accounts WHERE merchant_id = ANY($1::text[]) AND code IN ('merchant_available', 'merchant_pending') AND credits_posted <> debits_posted`,
    [drivers],
  );
  return { payouts: paid.rows.length, wrong: wrong.length, drivers_with_balance: left.rows[0].n };
}

async function payoutsInFlight(db) {
  const result = await db.query(`SELECT count(*)::int AS n FROM settlement.payouts WHERE status IN ('pending', 'in_transit')`);
  return result.rows[0].n;
}

const owner = new pg.Pool({ connectionString: url.toString(), max: 2 });
owner.on('error', () => {}); // the database's drop at the end ends every backend, idle ones included
/** What to stop before the database is dropped, should the run fail half-way. */
const cleanups = [];
try {
  // Errors only: the scheduler's own payout runs race the bench's (as a second process would), and the
  // loser of each race logs a warning and leaves the payout to the winner.
  const platform = await startPlatform(config, { clock, logger: createLogger('error'), metrics: false });
  cleanups.push(() => platform.stop());
  const { hostname, port } = new URL(platform.url);
  const stripe = new Stripe(SECRET_KEY, { apiVersion: '2023-08-16', host: hostname, port: Number(port), protocol: 'http', telemetry: false });
  const platform_id = (await stripe.accounts.retrieve()).id;
  await stripe.accounts.update(platform_id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  const drivers = await setUpDrivers(stripe);
  await owner.query('VACUUM (ANALYZE)');
  await owner.query('CHECKPOINT');
  const pool = platform.database.pool;

  const baseline = await measured('baseline: plain payments (create+confirm)', RIDES, async () => {
    await inParallel(RIDES, (n) => stripe.paymentIntents.create({ amount: fareOf(n), currency: 'usd', payment_method: 'pm_card_visa', confirm: true }));
    await ledgerCaughtUp(pool);
  });

  let payouts_made = 0;
  const marketplace = await measured('marketplace: destination charge + fee, then payout', RIDES, async () => {
    await inParallel(RIDES, (n) =>
      stripe.paymentIntents.create({
        amount: fareOf(n),
        currency: 'usd',
        payment_method: 'pm_card_visa',
        confirm: true,
        transfer_data: { destination: drivers[n % DRIVERS] },
        application_fee_amount: feeOf(fareOf(n)),
      }),
    );
    await ledgerCaughtUp(pool);
    clock.advance(DELAY_PASSED_MS);
    payouts_made = (await platform.payouts.runSchedule()).payouts;
    // The bank worker until every payout has ended (the scheduler's own bank runs may take some meanwhile).
    while ((await payoutsInFlight(owner)) > 0) await platform.payouts.processInFlight();
  });

  const check = await checkPayouts(owner, drivers);
  const verify = await verifyLedger(pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
  await cleanups.pop()();

  const ratio = marketplace.per_s / baseline.per_s;
  process.stdout.write(
    `\nMarketplace: ${RIDES} rides over ${DRIVERS} drivers, ${CONCURRENCY} at a time (pool ${config.db_pool_max}), PostgreSQL at ${url.host}\n`,
  );
  for (const phase of [baseline, marketplace]) {
    const figures = [
      `${phase.per_s.toFixed(1).padStart(8)}/s`,
      `${phase.seconds.toFixed(1).padStart(6)} s`,
      `process CPU ${phase.process_cpu_us_per_op.toFixed(0)} µs/op`,
      `PostgreSQL CPU ${Number.isNaN(phase.postgres_cpu_us_per_op) ? 'n/a' : `${phase.postgres_cpu_us_per_op.toFixed(0)} µs/op`}`,
      `WAL ${phase.wal_bytes_per_op.toFixed(0)} B/op`,
    ];
    process.stdout.write(`  ${phase.label.padEnd(52)} ${figures.join('  ')}\n`);
  }
  process.stdout.write(`  ratio marketplace/baseline (per s): ${ratio.toFixed(2)}\n`);
  const valid = check.payouts === DRIVERS && check.wrong === 0 && check.drivers_with_balance === 0 && verify.problems.length === 0;
  process.stdout.write(
    `check: ${check.payouts} payouts for ${DRIVERS} drivers (run made ${payouts_made}; the scheduler's own runs may make some), ` +
      `${check.wrong} wrong, ${check.drivers_with_balance} drivers with a balance left, ledger verify ${verify.problems.length} problems: ${valid ? 'OK' : 'MISMATCH'}\n`,
  );
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ rides: RIDES, drivers: DRIVERS, baseline, marketplace, ratio, valid })}\n`);
  process.exitCode = valid ? 0 : 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await owner.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  rmSync(data_dir, { recursive: true, force: true });
}
// vite-node ends with 0 whatever process.exitCode says; a MISMATCH must fail the command.
process.exit(process.exitCode ?? 0);

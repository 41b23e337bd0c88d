// One automatic payout run for many merchants, against a baseline measured in the same run.
//
// Run: DATABASE_URL=postgres://… npx vite-node bench/payouts-run.mjs   (BENCH_MERCHANTS, default 10000)
//
// A fresh database (payrail_bench_payouts_<random>, dropped at the end) gets BENCH_MERCHANTS merchants,
// each with a default bank account (its number sealed through the vault, as the API would) and a daily
// schedule. Then, timed:
//
//   1. baseline: one bare ledger transfer per merchant (the funding), each in its own transaction
//      through the ledger's postTransfers: the floor one payout's ledger write cannot go below;
//   2. the scheduled run (runSchedule): per merchant, a payout with its event, its ledger transfer
//      under the balance limit and the balance transactions it settles, through the write pipeline,
//      four merchants at a time (PAYOUT_RUN_CONCURRENCY; the baseline posts one at a time);
//   3. the bank worker (processInFlight, until none is left): in_transit, the sandbox bank, paid, four
//      at a time (PAYOUT_BANK_CONCURRENCY): two pipeline commits and one bank call per payout.
//
// Printed: merchants/s for each, the ratio of each to the baseline, wall time, and peak RSS (VmHWM of
// this process, which runs Payrail's code in-process).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/platform/config.js';
import { openDatabase } from '../src/platform/database.js';
import { withTransaction } from '../src/platform/db.js';
import { createLogger } from '../src/platform/logger.js';
import { ManualClock } from '../src/kernel/clock.js';
import { UlidGenerator } from '../src/kernel/ids.js';
import { ALL_MIGRATIONS } from '../src/migrations.js';
import { openPaymentServices } from '../src/payment-services.js';
import { postTransfers } from '../src/services/ledger/adapters/store.js';
import { transferId } from '../src/services/ledger/domain/ids.js';
import { startPayoutJobs } from '../src/services/settlement/index.js';
import { sealingContext } from '../src/services/settlement/app/bank-accounts.js';

const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 10_000);
const AMOUNT = 12_345;
const INSERT_CHUNK = 1_000;
const admin_url = process.env.DATABASE_URL;
if (!admin_url) throw new Error('set DATABASE_URL (a PostgreSQL the bench may create a database on)');

const name = `payrail_bench_payouts_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: admin_url });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(admin_url);
url.pathname = `/${name}`;
const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-payouts-'));
const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
const config = { ...loadConfig({}), database_url: url.toString(), data_dir, db_pool_max: 10, log_level: 'warn' };
const logger = createLogger('warn');

const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const timed = async (label, work) => {
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  return { label, seconds, per_s: MERCHANTS / seconds };
};

try {
  const database = await openDatabase(config, ALL_MIGRATIONS);
  const services = await openPaymentServices(config, database, { clock, ids: new UlidGenerator(clock), logger, public_url: () => 'http://127.0.0.1' });
  const sealer = services.payments.vault.sealer('bank_accounts');
  const ids = new UlidGenerator(clock);
  const now_s = Math.floor(clock.now_ms() / 1000);
  const merchants = Array.from({ length: MERCHANTS }, () => ids.next('merchant'));

  // Set-up, not timed: merchants and their bank accounts, written in bulk as their owner.
  const owner = new pg.Pool({ connectionString: url.toString(), max: 2 });
  for (let i = 0; i < MERCHANTS; i += INSERT_CHUNK) {
    const chunk = merchants.slice(i, i + INSERT_CHUNK);
    await owner.query(`INSERT INTO merchants.merchants (id, name, created) SELECT id, 'Bench', $2 FROM unnest($1::text[]) AS id`, [chunk, now_s]);
    const accounts = [];
    for (const merchant_id of chunk) {
      const id = ids.next('bank_account');
      const state = { id, merchant_id, created: now_s, country: 'US', currency: 'usd', routing_number: '110000000', last4: '6789', fingerprint: 'bench' };
      Object.assign(state, { account_holder_name: null, account_holder_type: null, default_for_currency: true, metadata: {}, version: 1 });
      accounts.push({ id, merchant_id, state: JSON.stringify(state), sealed: await sealer.seal('000123456789', sealingContext(merchant_id, id)) });
    }
    await owner.query(
      `INSERT INTO settlement.bank_accounts (merchant_id, id, created, currency, default_for_currency, state, sealed_number, version)
       SELECT m, i, $3, 'usd', true, s::jsonb, n, 1 FROM unnest($1::text[], $2::text[], $4::text[], $5::bytea[]) AS t(m, i, s, n)`,
      [accounts.map((a) => a.merchant_id), accounts.map((a) => a.id), now_s, accounts.map((a) => a.state), accounts.map((a) => a.sealed)],
    );
  }
  await owner.query('VACUUM ANALYZE');

  const baseline = await timed('baseline: one bare ledger transfer per merchant', async () => {
    for (const merchant_id of merchants) {
      await withTransaction(database.pool, (tx) =>
        postTransfers(tx, [
          {
            id: transferId('adjustment', `bench:${merchant_id}`, now_s),
            merchant_id,
            currency: 'usd',
            kind: 'adjustment',
            source_id: `bench:${merchant_id}`,
            postings: [
              { account: 'processor_receivable', amount: AMOUNT },
              { account: 'merchant_available', amount: -AMOUNT },
            ],
            cause: { event_id: 'bench', type: 'bench.funds' },
            created: now_s,
            available_on: now_s,
          },
        ]),
      );
    }
  });

  const jobs = startPayoutJobs({ write: services.write, system: database.pool, clock, logger, sealer });
  let made = 0;
  const run = await timed('scheduled run: one automatic payout per merchant', async () => {
    made = (await jobs.runSchedule()).payouts;
  });
  let paid = 0;
  const bank = await timed('bank worker: in_transit → sandbox bank → paid', async () => {
    for (;;) {
      const ended = await jobs.processInFlight();
      paid += ended;
      if (ended === 0) break;
    }
  });
  const counts = await owner.query(`SELECT status, count(*)::int AS n FROM settlement.payouts GROUP BY status`);
  const untouched = await owner.query(`SELECT count(*)::int AS n FROM ledger.accounts WHERE code = 'merchant_available' AND credits_posted <> debits_posted`);

  console.log(`payouts-run: ${MERCHANTS} merchants, PostgreSQL at ${url.host}`);
  for (const block of [baseline, run, bank]) {
    const ratio = block === baseline ? '' : `   ${(block.per_s / baseline.per_s).toFixed(2)}× baseline`;
    console.log(`  ${block.label.padEnd(52)} ${block.per_s.toFixed(0).padStart(7)}/s  ${block.seconds.toFixed(1).padStart(6)} s${ratio}`);
  }
  console.log(`  payouts made ${made}, paid ${paid}; by status ${JSON.stringify(counts.rows)}; merchants left with a balance ${untouched.rows[0].n}`);
  console.log(`  peak RSS of the bench process (Payrail in-process): ${peakRssMb().toFixed(0)} MB`);
  if (made !== MERCHANTS || paid !== MERCHANTS) process.exitCode = 1;
  await owner.end();
  await services.close();
  await database.close();
} finally {
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.end();
  rmSync(data_dir, { recursive: true, force: true });
}

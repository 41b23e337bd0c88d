// Renewing many subscriptions due at the same instant, against the same number of bare payments in
// the same run.
//
// Run: DATABASE_URL=postgres://… npx vite-node bench/renewals-run.mjs   (BENCH_SUBSCRIPTIONS, default 100000)
// `npm run bench` runs it as its `billing` group (BENCH_SCENARIOS=billing for it alone).
//
// A fresh database (payrail_bench_renewals_<random>, dropped at the end). Set-up, not timed: the whole
// platform on a manual clock makes one customer (pm_card_visa as its default), one monthly price and one
// subscription through the SDK, and the subscription is copied in SQL (rows and items, new ids) until
// BENCH_SUBSCRIPTIONS share one period end. Then, timed, in this process on one set of pools:
//
//   1. baseline: BENCH_SUBSCRIPTIONS bare payments — a PaymentIntent created and confirmed off session
//      with the customer's card through the write pipeline — BILLING_WORK_LIMITS.concurrency at a time;
//   2. renewals: the clock moves past the period end and the billing job's work runs (runBillingWork,
//      as the scheduler runs it) until every subscription has its cycle invoice (drafted, finalized);
//   3. collection: the clock moves past the first try (an hour later) and the job runs until every
//      invoice is paid (a PaymentIntent created, attached, confirmed, the invoice settled).
//
// Printed: per phase items/s, wall time, peak RSS (VmRSS sampled every 100 ms); invoices/s end to end
// (renewal + collection) and its ratio to the baseline's payments/s. The database is checked after:
// exactly one paid cycle invoice per subscription, one succeeded charge per invoice.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { loadConfig } from '../src/platform/config.js';
import { openDatabase } from '../src/platform/database.js';
import { createLogger } from '../src/platform/logger.js';
import { execute } from '../src/platform/write/pipeline.js';
import { ManualClock } from '../src/kernel/clock.js';
import { UlidGenerator } from '../src/kernel/ids.js';
import { ALL_MIGRATIONS } from '../src/migrations.js';
import { startPlatform } from '../src/compose.js';
import { openPaymentServices } from '../src/payment-services.js';
import { billingDeps } from '../src/service-wiring.js';
import { runBillingWork } from '../src/services/billing/index.js';
import { BILLING_WORK_LIMITS } from '../src/services/billing/app/billing-work.js';
import { createIntent } from '../src/services/payments/index.js';

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 100_000);
const AMOUNT = 1_500;
const SECRET_KEY = 'sk_test_benchRenewals000000000000001';
const admin_url = process.env.DATABASE_URL;
if (!admin_url) throw new Error('set DATABASE_URL (a PostgreSQL the bench may create a database on)');
if (!Number.isSafeInteger(SUBSCRIPTIONS) || SUBSCRIPTIONS < 1) throw new Error('BENCH_SUBSCRIPTIONS must be a positive integer');

const name = `payrail_bench_renewals_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: admin_url });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(admin_url);
url.pathname = `/${name}`;
const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-renewals-'));
const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
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
const logger = createLogger('warn');
const owner = new pg.Pool({ connectionString: url.toString(), max: 2 });

/** Peak VmRSS of this process while `work` runs, sampled every 100 ms. */
async function measured(label, count, work) {
  let peak_kb = 0;
  const sample = () => {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    peak_kb = Math.max(peak_kb, kb);
  };
  sample();
  const sampler = setInterval(sample, 100);
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  sample();
  return { label, count, seconds, per_s: count / seconds, peak_rss_mb: peak_kb / 1024 };
}

async function one(query, values = []) {
  return (await owner.query(query, values)).rows[0];
}

try {
  // Set-up through the API: one customer, price and subscription.
  const platform = await startPlatform(config, { clock, logger, metrics: false });
  const { hostname, port } = new URL(platform.url);
  const stripe = new Stripe(SECRET_KEY, { apiVersion: '2023-08-16', host: hostname, port: Number(port), protocol: 'http', telemetry: false });
  const customer = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  const card = customer.invoice_settings.default_payment_method;
  const product = await stripe.products.create({ name: 'Bench plan' });
  const price = await stripe.prices.create({ product: product.id, unit_amount: AMOUNT, currency: 'usd', recurring: { interval: 'month' } });
  const template = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
  await platform.stop();

  // Copies: the same subscription under new ids (ids keep the 26-character body: a prefix and a counter).
  const item_id = template.items.data[0].id;
  const copy_id = (prefix) => `'${prefix}_BENCH' || lpad(g::text, 21, '0')`;
  await owner.query(
    `INSERT INTO billing.subscriptions (merchant_id, id, customer_id, status, collection_method, current_period_start, current_period_end, test_clock, created, version, state)
     SELECT merchant_id, ${copy_id('sub')}, customer_id, status, collection_method, current_period_start, current_period_end, test_clock, created, version,
            replace(replace(state::text, $1, ${copy_id('sub')}), $2, ${copy_id('si')})::json
       FROM billing.subscriptions, generate_series(1, $3::int) AS g WHERE id = $1`,
    [template.id, item_id, SUBSCRIPTIONS - 1],
  );
  await owner.query(
    `INSERT INTO billing.subscription_items (merchant_id, id, subscription_id, price_id, quantity, created, state)
     SELECT merchant_id, ${copy_id('si')}, ${copy_id('sub')}, price_id, quantity, created, replace(state::text, $1, ${copy_id('si')})::json
       FROM billing.subscription_items, generate_series(1, $2::int) AS g WHERE id = $1`,
    [item_id, SUBSCRIPTIONS - 1],
  );
  await owner.query('VACUUM (ANALYZE)');
  await owner.query('CHECKPOINT');

  const database = await openDatabase(config, ALL_MIGRATIONS);
  const services = await openPaymentServices(config, database, { clock, ids: new UlidGenerator(clock), logger, public_url: () => 'http://127.0.0.1' });
  const deps = billingDeps(database, services, logger);
  const merchant_id = (await one('SELECT merchant_id FROM billing.subscriptions WHERE id = $1', [template.id])).merchant_id;

  const baseline = await measured('baseline: bare payments (create + confirm, off session)', SUBSCRIPTIONS, async () => {
    let next = 0;
    const pay = async () => {
      while (next < SUBSCRIPTIONS) {
        const n = next++;
        const params = { amount: AMOUNT, currency: 'usd', customer: customer.id, payment_method: card, confirm: true, off_session: true };
        const { response } = await execute(
          services.write,
          { merchant_id, request_id: `bench-${n}`, idempotency: { key: `bench-payment-${n}`, method: 'POST', path: '/v1/payment_intents', params } },
          { reserves: ['payment_intent', 'charge'], run: (ctx, p) => createIntent(services.payments, ctx, p) },
          params,
        );
        if (response.status !== 200) throw new Error(`bare payment ${n}: ${response.status} ${response.body.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: BILLING_WORK_LIMITS.concurrency }, pay));
  });

  const drain = async (done) => {
    while (!(await done())) await runBillingWork(deps, logger, 60_000);
  };
  const cycle_count = async (where) => Number((await one(`SELECT count(*) AS n FROM billing.invoices WHERE billing_reason = 'subscription_cycle' ${where}`)).n);
  clock.advance(32 * 86_400_000);
  const renewals = await measured('renewals: cycle invoices drafted + finalized', SUBSCRIPTIONS, () =>
    drain(async () => (await cycle_count('')) === SUBSCRIPTIONS),
  );
  clock.advance(2 * 3_600_000);
  const collection = await measured('collection: cycle invoices paid', SUBSCRIPTIONS, () =>
    drain(async () => (await cycle_count(`AND status = 'paid'`)) === SUBSCRIPTIONS),
  );

  const check = await one(
    `SELECT count(*) AS invoices, count(DISTINCT (subscription_id, period_start)) AS periods,
            (SELECT count(*) FROM payments.charges c JOIN billing.invoices i ON c.payment_intent_id = i.state->>'payment_intent'
              WHERE i.billing_reason = 'subscription_cycle' AND c.status = 'succeeded') AS charges
       FROM billing.invoices WHERE billing_reason = 'subscription_cycle' AND status = 'paid'`,
  );
  await services.close();
  await database.close();

  const end_to_end_s = renewals.seconds + collection.seconds;
  const invoices_per_s = SUBSCRIPTIONS / end_to_end_s;
  const rows = [baseline, renewals, collection].map((r) =>
    [r.label.padEnd(56), `${r.per_s.toFixed(1).padStart(9)}/s`, `${r.seconds.toFixed(1).padStart(8)} s`, `peak RSS ${r.peak_rss_mb.toFixed(0)} MB`].join('  '),
  );
  process.stdout.write(
    `\nRenewals: ${SUBSCRIPTIONS} subscriptions due at one instant (concurrency ${BILLING_WORK_LIMITS.concurrency}, pool ${config.db_pool_max})\n`,
  );
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(
    `end to end: ${invoices_per_s.toFixed(1)} invoices/s, drained in ${end_to_end_s.toFixed(1)} s; ` +
      `ratio to bare payments ${(invoices_per_s / baseline.per_s).toFixed(2)}\n`,
  );
  const valid = Number(check.invoices) === SUBSCRIPTIONS && Number(check.periods) === SUBSCRIPTIONS && Number(check.charges) === SUBSCRIPTIONS;
  process.stdout.write(
    `check: ${check.invoices} paid cycle invoices, ${check.periods} periods, ${check.charges} succeeded charges: ${valid ? 'OK' : 'MISMATCH'}\n`,
  );
  process.stdout.write(
    `BENCH_RESULT ${JSON.stringify({ subscriptions: SUBSCRIPTIONS, baseline, renewals, collection, invoices_per_s, ratio: invoices_per_s / baseline.per_s, valid })}\n`,
  );
  process.exitCode = valid ? 0 : 1;
} finally {
  await owner.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  rmSync(data_dir, { recursive: true, force: true });
}

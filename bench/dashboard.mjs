// The dashboard's bench: time to first render (navigation start → the first table row visible) of
// the payments list and of a payment detail, with 100,000 payments in the merchant, against the same
// pages at 1,000 payments in the same run. `npm run build && node bench/dashboard.mjs`.
//
// Seeding: a few real payments go through the API; the rest are copies of one of them made with SQL
// (jsonb_populate_record over the real row, so the copies match the schema whatever its columns),
// because 100,000 API payments would take longer than the page loads being measured.
import { openBenchServer, withClient } from './database.mjs';
import { Cleanup, formatNumber, printBlock } from './lib.mjs';
import { createPayment, launchChromium, signIn, startDashboardPlatform } from './dashboard-platform.mjs';

const SIZES = [1_000, Number(process.env.BENCH_DASHBOARD_PAYMENTS ?? 100_000)];
const LOADS_PER_PAGE = 5;

/** Copies in batches, so no one statement outlasts the bench's query timeout on a busy machine. */
const SEED_BATCH = 5_000;

async function seedCopies(database_url, merchant_id, template_id, count) {
  await withClient(database_url, async (client) => {
    for (let from = 1; from <= count; from += SEED_BATCH) {
      const to = Math.min(count, from + SEED_BATCH - 1);
      await client.query(
        `INSERT INTO payments.payment_intents
           SELECT (jsonb_populate_record(NULL::payments.payment_intents, to_jsonb(pi) || jsonb_build_object(
             'id', 'pi_B' || lpad(g::text, 24, '0'), 'amount', 100 + g % 9000, 'amount_received', 100 + g % 9000,
             'created', pi.created - g))).*
           FROM payments.payment_intents pi, generate_series($3::int, $4::int) g WHERE pi.merchant_id = $1 AND pi.id = $2`,
        [merchant_id, template_id, from, to],
      );
      await client.query(
        `INSERT INTO payments.charges
           SELECT (jsonb_populate_record(NULL::payments.charges, to_jsonb(ch) || jsonb_build_object(
             'id', 'ch_B' || lpad(g::text, 24, '0'), 'payment_intent_id', 'pi_B' || lpad(g::text, 24, '0'),
             'amount', 100 + g % 9000, 'amount_captured', 100 + g % 9000, 'created', ch.created - g))).*
           FROM payments.charges ch, generate_series($3::int, $4::int) g WHERE ch.merchant_id = $1 AND ch.payment_intent_id = $2`,
        [merchant_id, template_id, from, to],
      );
    }
    await client.query('ANALYZE payments.payment_intents');
    await client.query('ANALYZE payments.charges');
  });
}

/** Median of several loads: navigation start to `rendered(page)` visible. */
async function timeToRender(page, url, rendered) {
  const times = [];
  for (let i = 0; i < LOADS_PER_PAGE; i++) {
    const started = Date.now();
    await page.goto(url);
    await rendered(page).waitFor();
    times.push(Date.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** One platform per size, stopped (and its database dropped) before the next starts: the machine's PostgreSQL has few connections to spare. */
async function measure(server, size, browser) {
  const cleanup = new Cleanup();
  try {
    return await measureOn(await server.createDatabase(), size, browser, cleanup);
  } finally {
    await cleanup.runAll();
  }
}

async function measureOn(database, size, browser, cleanup) {
  const { url, merchant_id } = await startDashboardPlatform(database, cleanup);
  const real = await createPayment(url, { amount: 4200, email: 'bench@example.com', metadata: { order: 'bench' } });
  const seed_started = Date.now();
  await seedCopies(database.url, merchant_id, real.id, size - 1);
  process.stderr.write(`dashboard bench: ${size} payments seeded in ${Date.now() - seed_started} ms\n`);
  const { context, page } = await signIn(browser, url);
  // The list's first payment link is its first data row; the detail is rendered once its timeline is.
  const list_ms = await timeToRender(page, `${url}/dashboard/payments`, (p) => p.getByRole('table', { name: 'Payments' }).getByRole('link').first());
  const detail_ms = await timeToRender(page, `${url}/dashboard/payments/${real.id}`, (p) => p.getByText('Payment created'));
  await context.close();
  return { size, list_ms, detail_ms };
}

const cleanup = new Cleanup();
try {
  const server = await openBenchServer(cleanup);
  const browser = await launchChromium();
  cleanup.add('close browser', () => browser.close());
  const results = [];
  for (const size of SIZES) results.push(await measure(server, size, browser));
  const [baseline, big] = results;
  printBlock('Dashboard: time to first render (median of 5 loads)', [
    ...results.map((r) => [`${formatNumber(r.size)} payments`, `list ${r.list_ms} ms, detail ${r.detail_ms} ms`]),
    [
      `ratio ${formatNumber(big.size)} / ${formatNumber(baseline.size)}`,
      `list ${formatNumber(big.list_ms / baseline.list_ms, 2)}, detail ${formatNumber(big.detail_ms / baseline.detail_ms, 2)}`,
    ],
  ]);
} finally {
  await cleanup.runAll();
}

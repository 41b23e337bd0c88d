// Ledger figures: transfers/s posted through the ledger (one per transaction, and batched as the
// outbox consumer posts them), for random merchants and for one hot merchant, beside a raw-SQL
// double-entry baseline measured in the same run; then the lag from a captured payment's response
// to its posting being committed, with the real server under load.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatNumber, freePort, percentile } from '../lib.mjs';
import { startServer, stopServer } from './common.mjs';
import { BENCH_SECRET_KEY } from './payment-intents.mjs';

const PHASE_MAX_S = 3;
const LAG_LOAD_MAX_S = 5;
const WRITERS_UNBATCHED = 16;
const WRITERS_BATCHED = 4;
const BATCH = 500;
const RANDOM_MERCHANTS = 10_000;
const LAG_RATE_PER_S = 200;
const LAG_IN_FLIGHT_MAX = 64;
const OFFSET_POLL_MS = 2;
const CATCH_UP_LIMIT_MS = 120_000;
const DEADLOCK = '40P01';

export const ledger = {
  name: 'ledger',
  title: 'Ledger: transfers/s (raw SQL baseline vs ledger, unbatched vs batched, random vs hot merchant) and capture→posting lag',

  async run(ctx) {
    const dist = (path) => import(join(ctx.root_dir, 'dist', path));
    const { createPool, withTransaction } = await dist('platform/db.js');
    const { migrate } = await dist('platform/migrations.js');
    const { ALL_MIGRATIONS } = await dist('migrations.js');
    const { postTransfers } = await dist('services/ledger/adapters/store.js');
    const { transferId } = await dist('services/ledger/domain/ids.js');

    const pool = createPool(ctx.database.url, WRITERS_UNBATCHED + 2);
    ctx.cleanup.add('close ledger bench pool', () => pool.end());
    await migrate(pool, ALL_MIGRATIONS);
    const phase_s = Math.min(ctx.config.duration_s, PHASE_MAX_S);
    const problems = [];

    // Capture-shaped transfers: four postings over three accounts of one merchant.
    let counter = 0;
    const run_tag = Date.now().toString(36);
    const capture = (hot) => {
      counter += 1;
      const merchant_id = hot ? 'acct_bench_hot' : `acct_bench_${counter % RANDOM_MERCHANTS}`;
      const source_id = `ch_bench_${run_tag}_${counter}`;
      const gross = 1000 + (counter % 1000);
      const fee = 30 + Math.round(gross * 0.029);
      return {
        id: transferId('capture', source_id, 1_700_000_000),
        merchant_id,
        currency: 'usd',
        kind: 'capture',
        source_id,
        postings: [
          { account: 'processor_receivable', amount: gross },
          { account: 'merchant_pending', amount: -gross },
          { account: 'merchant_pending', amount: fee },
          { account: 'platform_fees', amount: -fee },
        ],
        cause: { event_id: `evt_bench_${counter}`, type: 'charge.succeeded' },
        // Available far in the future: the server started for the lag run must not spend it releasing these.
        created: 1_700_000_000,
        available_on: 4_000_000_000,
      };
    };

    const ledgerPhase = (hot, batch, writers) =>
      timed(phase_s, writers, async () => {
        const requests = Array.from({ length: batch }, () => capture(hot));
        const results = await withTransaction(pool, (tx) => postTransfers(tx, requests));
        const refused = results.filter((r) => r.result !== 'ok');
        if (refused.length > 0) problems.push(`ledger bench: ${refused.length} transfers refused (${refused[0].result})`);
        return batch;
      });

    await setUpRawBaseline(pool);
    let raw_deadlocks = 0;
    const rawPhase = (hot) =>
      timed(phase_s, WRITERS_UNBATCHED, async () => {
        const t = capture(hot);
        try {
          await rawTransfer(pool, t);
        } catch (error) {
          if (error.code !== DEADLOCK) throw error;
          raw_deadlocks += 1;
          return 0;
        }
        return 1;
      });

    const figures = {
      raw_random: await rawPhase(false),
      raw_hot: await rawPhase(true),
      unbatched_random: await ledgerPhase(false, 1, WRITERS_UNBATCHED),
      unbatched_hot: await ledgerPhase(true, 1, WRITERS_UNBATCHED),
      batched_random: await ledgerPhase(false, BATCH, WRITERS_BATCHED),
      batched_hot: await ledgerPhase(true, BATCH, WRITERS_BATCHED),
    };

    const { consumerLag } = await dist('services/events/index.js');
    const lag = await measureLag(ctx, pool, problems, consumerLag);

    const row = (label, figure, baseline) => [
      label,
      `${formatNumber(figure.per_s, 0).padStart(8)} transfers/s${baseline ? `   ×${formatNumber(figure.per_s / baseline.per_s, 2)} of raw SQL` : ''}   (${formatNumber(figure.count)} in ${formatNumber(figure.window_s, 2)} s)`,
    ];
    return {
      metrics: {
        ...Object.fromEntries(Object.entries(figures).map(([name, f]) => [`${name}_per_s`, f.per_s])),
        lag_p50_ms: lag.p50_ms,
        lag_p99_ms: lag.p99_ms,
        catch_up_events_per_s: lag.catch_up_events_per_s,
      },
      problems,
      rows: [
        row(`raw SQL, random merchants (${WRITERS_UNBATCHED} conns)`, figures.raw_random),
        row(`raw SQL, one hot merchant (${WRITERS_UNBATCHED} conns)`, figures.raw_hot),
        row(`ledger 1/tx, random (${WRITERS_UNBATCHED} conns)`, figures.unbatched_random, figures.raw_random),
        row(`ledger 1/tx, hot (${WRITERS_UNBATCHED} conns)`, figures.unbatched_hot, figures.raw_hot),
        row(`ledger ${BATCH}/tx, random (${WRITERS_BATCHED} conns)`, figures.batched_random, figures.raw_random),
        row(`ledger ${BATCH}/tx, hot (${WRITERS_BATCHED} conns)`, figures.batched_hot, figures.raw_hot),
        ['raw SQL deadlocks retried', formatNumber(raw_deadlocks)],
        [
          'server: outbox backlog catch-up',
          `${formatNumber(lag.backlog)} events left by earlier scenarios, drained ${formatNumber(lag.catch_up_s, 2)} s after spawn (server start included)`,
        ],
        ['server: paced payments', `${formatNumber(lag.payments)} in ${formatNumber(lag.load_s, 2)} s (target ${LAG_RATE_PER_S}/s), one merchant`],
        ['capture→posting lag p50 ms', formatNumber(lag.p50_ms, 1)],
        ['capture→posting lag p99 ms', formatNumber(lag.p99_ms, 1)],
        ['capture→posting lag max ms', formatNumber(lag.max_ms, 1)],
      ],
    };
  },
};

/** Runs `work` on `writers` concurrent loops for `seconds`; work returns how many transfers it posted. */
async function timed(seconds, writers, work) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        const posted = await work(); // not `count += await work()`: that reads count before the await
        count += posted;
      }
    }),
  );
  const window_s = (performance.now() - started) / 1000;
  return { count, window_s, per_s: count / window_s };
}

/**
 * The baseline: a minimal double-entry schema without the ledger's checks, one autocommit statement
 * per transfer: insert the transfer and its postings, add each posting to its account's balance.
 */
async function setUpRawBaseline(pool) {
  await pool.query(`
    DROP TABLE IF EXISTS bench_raw_transfers, bench_raw_postings, bench_raw_accounts;
    CREATE TABLE bench_raw_transfers (id text PRIMARY KEY, merchant_id text NOT NULL);
    CREATE TABLE bench_raw_postings (transfer_id text NOT NULL, index int NOT NULL, account text NOT NULL, amount bigint NOT NULL, PRIMARY KEY (transfer_id, index));
    CREATE TABLE bench_raw_accounts (id text PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);`);
  await pool.query(`INSERT INTO bench_raw_accounts (id)
    SELECT m || ':' || a FROM (SELECT 'acct_bench_' || g AS m FROM generate_series(0, ${RANDOM_MERCHANTS - 1}) g UNION ALL SELECT 'acct_bench_hot') ms,
    unnest(ARRAY['merchant_pending', 'platform_fees', 'processor_receivable']) a`);
}

function rawTransfer(pool, t) {
  const [receivable, pending_gross, pending_fee, fees] = t.postings;
  // Accounts are updated in name order (merchant_pending, platform_fees, processor_receivable).
  return pool.query({
    name: 'bench_raw_transfer',
    text: `WITH t AS (INSERT INTO bench_raw_transfers (id, merchant_id) VALUES ($1, $2) RETURNING 1),
      p AS (INSERT INTO bench_raw_postings (transfer_id, index, account, amount) VALUES ($1, 0, 'processor_receivable', $3), ($1, 1, 'merchant_pending', $4), ($1, 2, 'merchant_pending', $5), ($1, 3, 'platform_fees', $6) RETURNING 1),
      a1 AS (UPDATE bench_raw_accounts SET balance = balance + $4 + $5 WHERE id = $2 || ':merchant_pending' RETURNING 1),
      a2 AS (UPDATE bench_raw_accounts SET balance = balance + $6 WHERE id = $2 || ':platform_fees' RETURNING 1),
      a3 AS (UPDATE bench_raw_accounts SET balance = balance + $3 WHERE id = $2 || ':processor_receivable' RETURNING 1)
      SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM p) + (SELECT count(*) FROM a1) + (SELECT count(*) FROM a2) + (SELECT count(*) FROM a3) AS n`,
    values: [t.id, t.merchant_id, receivable.amount, pending_gross.amount, pending_fee.amount, fees.amount],
  });
}

/**
 * Starts Payrail, lets its ledger worker drain what earlier scenarios left in the outbox (catch-up
 * rate), then pays under load and measures, per payment, the time from its HTTP response to the
 * ledger consumer's offset passing its charge event (the posting committed), by polling the offset.
 */
async function measureLag(ctx, pool, problems, consumerLag) {
  const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-ledger-'));
  ctx.cleanup.add('remove ledger bench data dir', () => rmSync(data_dir, { recursive: true, force: true }));
  const port = await freePort();
  const eventsBehind = async () => (await consumerLag(pool, 'ledger', 0)).events_behind;
  const waitCaughtUp = async () => {
    const deadline = Date.now() + CATCH_UP_LIMIT_MS;
    while ((await eventsBehind()) > 0) {
      if (Date.now() > deadline) throw new Error('ledger did not catch up with the outbox');
      await sleep(20);
    }
  };
  const backlog = await eventsBehind();
  const started_ms = performance.now();
  const server = await startServer(ctx, {
    name: 'Payrail (ledger)',
    script: join(ctx.root_dir, 'dist', 'main.js'),
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: ctx.database.url,
      PAYRAIL_DATA_DIR: data_dir,
      PAYRAIL_BOOTSTRAP_SECRET_KEY: BENCH_SECRET_KEY,
      PAYRAIL_DB_POOL_MAX: String(ctx.config.db_pool_max),
      LOG_LEVEL: 'warn',
      // Servers of both builds may run at once: each takes a free metrics port.
      PAYRAIL_METRICS_PORT: '0',
    },
    port,
  });
  await waitCaughtUp();
  const catch_up_s = (performance.now() - started_ms) / 1000;

  const offsets = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const { rows } = await pool.query(`SELECT xid::text AS xid, seq FROM events.consumer_offsets WHERE consumer = 'ledger'`);
      if (rows[0]) offsets.push({ at_ms: Date.now(), xid: BigInt(rows[0].xid), seq: Number(rows[0].seq) });
      await sleep(OFFSET_POLL_MS);
    }
  })();

  // Paced, not saturating: lag is a property of the pipeline at a given rate, and at saturation it
  // mostly measures the CPU the consumer can get. One merchant: its accounts are the hot ones.
  const paid = [];
  const load_s = Math.min(ctx.config.duration_s, LAG_LOAD_MAX_S);
  const load_started = performance.now();
  const in_flight = new Set();
  const pay = async () => {
    const response = await fetch(`${server.base_url}/v1/payment_intents`, {
      method: 'POST',
      headers: { ...ctx.payment_request.headers, Authorization: `Bearer ${BENCH_SECRET_KEY}` },
      body: ctx.payment_request.body,
    });
    const body = await response.json();
    if (response.status !== 200) problems.push(`ledger lag: payment answered ${response.status}`);
    else paid.push({ charge: body.latest_charge, at_ms: Date.now() });
  };
  for (let sent = 0; performance.now() - load_started < load_s * 1000; sent++) {
    const wait_ms = load_started + (sent * 1000) / LAG_RATE_PER_S - performance.now();
    if (wait_ms > 1) await sleep(wait_ms);
    if (in_flight.size >= LAG_IN_FLIGHT_MAX) await Promise.race(in_flight);
    const request = pay().finally(() => in_flight.delete(request));
    in_flight.add(request);
  }
  await Promise.all(in_flight);
  const load_window_s = (performance.now() - load_started) / 1000;
  await waitCaughtUp();
  await sleep(OFFSET_POLL_MS * 5);
  polling = false;
  await poller;
  await stopServer(server);

  // Each charge's event position, then the first offset sample at or past it.
  const { rows } = await pool.query(
    `SELECT object_id, xid::text AS xid, seq FROM events.outbox WHERE type = 'charge.succeeded' AND object_id = ANY($1::text[])`,
    [paid.map((p) => p.charge)],
  );
  const position = new Map(rows.map((r) => [r.object_id, { xid: BigInt(r.xid), seq: Number(r.seq) }]));
  const lags = [];
  for (const p of paid) {
    const at = position.get(p.charge);
    const reached = at && offsets.find((o) => o.xid > at.xid || (o.xid === at.xid && o.seq >= at.seq));
    if (!reached) {
      problems.push(`ledger lag: no offset sample past charge ${p.charge}`);
      break;
    }
    lags.push(Math.max(0, reached.at_ms - p.at_ms));
  }
  lags.sort((a, b) => a - b);
  const captures = await pool.query(`SELECT count(*)::int AS n FROM ledger.transfers WHERE kind = 'capture' AND source_id = ANY($1::text[])`, [
    paid.map((p) => p.charge),
  ]);
  if (captures.rows[0].n !== paid.length) problems.push(`ledger lag: ${paid.length} payments but ${captures.rows[0].n} capture transfers`);
  return {
    backlog,
    catch_up_s,
    catch_up_events_per_s: backlog / catch_up_s,
    payments: paid.length,
    load_s: load_window_s,
    p50_ms: percentile(lags, 0.5),
    p99_ms: percentile(lags, 0.99),
    max_ms: lags.at(-1) ?? NaN,
  };
}

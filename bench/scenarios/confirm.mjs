// Confirming PaymentIntents that already exist: `POST /v1/payment_intents/:id/confirm` with
// pm_card_visa and a fresh Idempotency-Key, each request its own intent. Up to issue 8 this path (and
// capture, cancel, refund) called the processor inside a transaction holding the intent's row lock;
// create-with-confirm never did, so only this scenario shows what that cost. The intents are created
// through the API of the build being measured (the builds' schemas differ), before the measured window.
//
// At 200 ms sandbox latency a second phase measures what the held transactions did to everything else:
// while the confirms go on, probe payments are made, and each one's lag from its HTTP response to its
// ledger posting (its balance transaction) is timed. Consumers read only events older than the oldest
// open writing transaction, so a transaction held across a processor call delays every event behind it.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withClient } from '../database.mjs';
import { formatNumber, freePort, loadProblems, loadRows, memoryRow, percentile, runLoad } from '../lib.mjs';
import { costRows } from '../resources.mjs';
import { stopServer, uniqueHeader, warmUpAndMeasure } from './common.mjs';
import { BENCH_SECRET_KEY, intentsByStatus, latencyCeiling_per_s, payrailTitle, startPayrail } from './payment-intents.mjs';

const CREATE_BODY = 'amount=2000&currency=usd';
const CONFIRM_BODY = 'payment_method=pm_card_visa';
/**
 * With a processor latency, a connection sends at most one confirm per latency (plus the one it starts
 * with), so the intents a run can use are bounded exactly; timers may fire a little early, hence the slack.
 */
const TIMER_SLACK = 0.9;
/**
 * At 0 ms nothing bounds the confirm rate but the machine. The intents are created, at full speed with
 * the same connections, for this many times the seconds the confirms run (warm-up, measured and drain):
 * creating one is far less work than confirming it (no idempotency record, charge, processor call,
 * attempt or event; about 3× the rate on both builds), so the pool outlasts the run. A run that still
 * uses it up is reported as a problem, never padded.
 */
const CREATE_TIME_FACTOR = 1;
/** After the measured window each connection finishes its request; at 0 ms that takes well under this. */
const DRAIN_ALLOWANCE_S = 1;
const CREATE_LIMIT_S = 300;
/** The lag phase: its length (at most the measured run's), and the probes inside it. */
const LAG_PHASE_MAX_S = 10;
const PROBE_WORKERS = 4;
const PROBE_PAUSE_MS = 50;
/** Probes start once the confirm load is running and stop early enough to be answered inside it. */
const PROBE_RAMP_MS = 500;
const PROBE_STOP_BEFORE_END_MS = 1_000;
const POSTING_POLL_MS = 5;
const POSTING_WAIT_LIMIT_MS = 30_000;
const PROBE_REQUEST_TIMEOUT_MS = 10_000;

/** `variant`: { name, title, latency_ms, lag_probe }; `build`: { label, suffix, root_dir }. */
export function confirmScenario({ name, title, latency_ms, lag_probe }, build) {
  const scenario_name = `${name}${build.suffix}`;
  return {
    name: scenario_name,
    group: 'confirm',
    title: payrailTitle(build, title),
    extra_budget_s: CREATE_LIMIT_S + LAG_PHASE_MAX_S + POSTING_WAIT_LIMIT_MS / 1000,

    async run(ctx) {
      const database = await ctx.database_server.createDatabase();
      const port = await freePort();
      const server = await startPayrail(ctx, { build, database_url: database.url, latency_ms, port });
      const lag_phase_s = lag_probe ? Math.min(ctx.config.duration_s, LAG_PHASE_MAX_S) : 0;
      const created = await createIntents(ctx, server.base_url, intentsNeeded(ctx.config, latency_ms, lag_phase_s));
      const settled = await settleDatabase(database.url);
      const pool = intentPool(created.ids);
      const confirms = confirmLoad(ctx, server.base_url, pool);
      const { warmup, load, costs, memory } = await warmUpAndMeasure(ctx, server, confirms, database.url);
      const lag = lag_probe ? await measureLagUnderLoad(ctx, server.base_url, database.url, confirms, lag_phase_s) : undefined;
      const logged = { ...server.child.log_counts };
      const log_tail = server.child.outputTail();
      const stopped = await stopServer(server);

      const loads = [
        { phase: `${scenario_name} warm-up`, run: warmup },
        { phase: scenario_name, run: load },
        ...(lag ? [{ phase: `${scenario_name} lag phase`, run: lag.load }] : []),
      ];
      const confirmed_2xx = loads.reduce((total, { run }) => total + run.count_2xx, 0);
      const probes_2xx = lag?.probes_2xx ?? 0;
      const by_status = await intentsByStatus(database.url);
      await database.drop(); // counted: nothing left for autovacuum to write WAL for in later windows
      const problems = [
        ...created.problems,
        ...loads.flatMap(({ phase, run }) => loadProblems(phase, run)),
        ...(lag?.problems ?? []),
        ...countProblems(scenario_name, by_status, { created: created.ids.length, confirmed_2xx, probes_2xx }),
      ];
      if (pool.exhausted() > 0)
        problems.push(`${scenario_name}: ran out of pre-created intents (${pool.exhausted()} requests had none); raise CREATE_TIME_FACTOR in confirm.mjs`);
      if (logged.error > 0) problems.push(`${scenario_name}: logged ${logged.error} error lines; last output:\n${log_tail}`);

      const ceiling_per_s = latencyCeiling_per_s(ctx.config.connections, latency_ms);
      const pool_cap_per_s = latencyCeiling_per_s(ctx.config.db_pool_max, latency_ms);
      const ceiling_rows =
        latency_ms > 0
          ? [
              [
                'ceiling (conns ÷ latency)',
                `${formatNumber(ceiling_per_s, 0)}/s (${ctx.config.connections} connections ÷ ${latency_ms} ms, one processor call each); this run ×${formatNumber(load.requests_per_s / ceiling_per_s, 2)} of it`,
              ],
              [
                'pool ÷ latency',
                `${formatNumber(pool_cap_per_s, 0)}/s: the most a build holding a pooled connection across the call can confirm (pool ${ctx.config.db_pool_max})`,
              ],
            ]
          : [];
      return {
        metrics: { ...load, memory, costs, latency_ms, ceiling_per_s, lag },
        problems,
        rows: [
          [
            'intents created first',
            `${formatNumber(created.ids.length)} through the API in ${formatNumber(created.window_s, 1)} s (${formatNumber(created.ids.length / created.window_s, 0)}/s, ${created.sizing}); then ${settled}`,
          ],
          ...loadRows(load).slice(0, 1),
          ...ceiling_rows,
          ...loadRows(load).slice(1),
          memoryRow(memory),
          ...costRows(costs, ctx.wal_note),
          ...(lag ? lagRows(lag) : []),
          [
            'intents by status',
            Object.entries(by_status)
              .map(([status, n]) => `${status}=${n}`)
              .join(' ') || 'none',
          ],
          [
            'succeeded vs 2xx',
            `${formatNumber(by_status.succeeded ?? 0)} succeeded, ${formatNumber(confirmed_2xx)} 2xx confirms (incl. warm-up${lag ? ', lag phase' : ''})${lag ? ` + ${formatNumber(probes_2xx)} probe payments` : ''} ${(by_status.succeeded ?? 0) === confirmed_2xx + probes_2xx ? 'OK' : 'MISMATCH'}`,
          ],
          ['log lines warn / error', `${logged.warn} / ${logged.error}`],
          ['shutdown', `${stopped.exit} in ${formatNumber(stopped.stop_ms, 0)} ms`],
        ],
      };
    },
  };
}

/**
 * How many intents the confirm runs may use: with a processor latency, an exact bound per load run
 * (connections × one per latency, plus the first and the one in flight at the drain); at 0 ms, a time.
 */
function intentsNeeded(config, latency_ms, lag_phase_s) {
  const runs_s = [config.warmup_s, config.duration_s, ...(lag_phase_s > 0 ? [lag_phase_s] : [])];
  if (latency_ms > 0) {
    const per_connection = runs_s.reduce((total, run_s) => total + Math.floor((run_s * 1000) / (latency_ms * TIMER_SLACK)) + 2, 0);
    return { count: config.connections * per_connection, sizing: `${config.connections} connections × at most one confirm per ${latency_ms} ms` };
  }
  const confirm_s = runs_s.reduce((total, run_s) => total + run_s + DRAIN_ALLOWANCE_S, 0);
  return { duration_s: confirm_s * CREATE_TIME_FACTOR, sizing: `created for ${CREATE_TIME_FACTOR} × the ${formatNumber(confirm_s, 0)} s the confirms run` };
}

/**
 * Creates PaymentIntents (no payment method yet) through the API, on the bench's connections, collecting
 * their ids. Without Idempotency-Key: this is set-up, and a key's record would only slow it down.
 */
async function createIntents(ctx, base_url, { count, duration_s, sizing }) {
  const ids = [];
  const run = await runLoad({
    url: `${base_url}/v1/payment_intents`,
    connections: ctx.config.connections,
    duration_s: duration_s ?? CREATE_LIMIT_S,
    amount: count,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${BENCH_SECRET_KEY}` },
    body: CREATE_BODY,
    onResponse: (status, body) => {
      if (status === 200) ids.push(JSON.parse(body).id);
    },
  });
  const problems = loadProblems('creating intents', run);
  if (ids.length !== run.count_2xx) problems.push(`creating intents: ${run.count_2xx} 2xx but ${ids.length} ids read`);
  if (count !== undefined && ids.length < count) problems.push(`creating intents: ${ids.length} of ${count} created within ${CREATE_LIMIT_S} s`);
  // The run's own window ends at its last response; autocannon notices `amount` only at its next 1 s tick.
  return { ids, window_s: run.window_s, problems, sizing };
}

/**
 * The creation's dead tuples and dirty pages are the database's work, not the confirms': VACUUM
 * ANALYZE so autovacuum does not wake for them inside the window, CHECKPOINT so the flush does not
 * land in it (both builds start the window alike). CHECKPOINT needs a superuser or pg_checkpoint.
 */
async function settleDatabase(database_url) {
  return withClient(database_url, async (client) => {
    await client.query('VACUUM (ANALYZE)');
    try {
      await client.query('CHECKPOINT');
      return 'VACUUM ANALYZE, CHECKPOINT';
    } catch (error) {
      return `VACUUM ANALYZE (CHECKPOINT refused: ${error.message})`;
    }
  });
}

/** Hands out each intent once, in order; counts the requests that found none left. */
function intentPool(ids) {
  let next = 0;
  let exhausted = 0;
  return {
    take() {
      if (next < ids.length) return ids[next++];
      exhausted += 1;
      return 'pi_bench_pool_exhausted'; // answered 404, so the run fails loudly rather than reusing an intent
    },
    exhausted: () => exhausted,
  };
}

/** The confirm requests: each its own intent (path) and its own Idempotency-Key. */
function confirmLoad(ctx, base_url, pool) {
  const withKey = uniqueHeader('Idempotency-Key', `bench_confirm_${randomBytes(4).toString('hex')}`);
  return {
    url: `${base_url}/v1/payment_intents`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${BENCH_SECRET_KEY}` },
    body: CONFIRM_BODY,
    setupRequest: (request) => {
      request.path = `/v1/payment_intents/${pool.take()}/confirm`;
      return withKey(request);
    },
  };
}

/** Exact counts: every 2xx confirm and probe payment a succeeded intent, every other intent untouched. */
function countProblems(name, by_status, { created, confirmed_2xx, probes_2xx }) {
  const problems = [];
  const succeeded = by_status.succeeded ?? 0;
  const untouched = by_status.requires_payment_method ?? 0;
  if (succeeded !== confirmed_2xx + probes_2xx)
    problems.push(`${name}: MISMATCH ${succeeded} succeeded payment intents, ${confirmed_2xx} 2xx confirms + ${probes_2xx} probe payments`);
  if (untouched !== created - confirmed_2xx)
    problems.push(`${name}: MISMATCH ${untouched} intents still requires_payment_method, expected ${created} created − ${confirmed_2xx} confirmed`);
  const others = Object.keys(by_status).filter((status) => status !== 'succeeded' && status !== 'requires_payment_method');
  if (others.length > 0) problems.push(`${name}: intents in other states: ${others.map((status) => `${status}=${by_status[status]}`).join(' ')}`);
  return problems;
}

/**
 * Confirms go on for `phase_s` (not metered: the probes would skew the per-confirm costs), while
 * PROBE_WORKERS loops each pay (create with confirm=true), then wait for that charge's capture
 * posting in ledger.transfers (a balance transaction), then pause. The lag of a probe runs from its
 * HTTP response (its charge.succeeded event committed) to the first poll that finds the posting.
 */
async function measureLagUnderLoad(ctx, base_url, database_url, confirms, phase_s) {
  const problems = [];
  const postings = startPostingWatch(database_url);
  const phase_end_ms = performance.now() + phase_s * 1000;
  const loaded = runLoad({ ...confirms, connections: ctx.config.connections, duration_s: phase_s });
  await sleep(PROBE_RAMP_MS);
  const samples = [];
  let probes_2xx = 0;
  const probe = async () => {
    while (performance.now() < phase_end_ms - PROBE_STOP_BEFORE_END_MS) {
      const paid = await payOnce(base_url).catch((error) => ({ ok: false, status: error.cause?.code ?? error.message }));
      if (!paid.ok) {
        problems.push(`lag probe: payment answered ${paid.status}`);
        return;
      }
      probes_2xx += 1;
      const posted_at_ms = await postings.waitFor(paid.charge);
      if (posted_at_ms === undefined) problems.push(`lag probe: no posting for ${paid.charge} within ${POSTING_WAIT_LIMIT_MS} ms`);
      else samples.push({ lag_ms: Math.max(0, posted_at_ms - paid.answered_at_ms), payment_ms: paid.latency_ms });
      await sleep(PROBE_PAUSE_MS);
    }
  };
  try {
    await Promise.all(Array.from({ length: PROBE_WORKERS }, probe));
  } finally {
    await postings.stop();
  }
  const load = await loaded;
  const lags = samples.map((s) => s.lag_ms).sort((a, b) => a - b);
  const payments = samples.map((s) => s.payment_ms).sort((a, b) => a - b);
  return {
    load,
    problems,
    probes_2xx,
    probes: samples.length,
    phase_s,
    lag_p50_ms: percentile(lags, 0.5),
    lag_p99_ms: percentile(lags, 0.99),
    lag_max_ms: lags.at(-1) ?? NaN,
    probe_payment_p50_ms: percentile(payments, 0.5),
  };
}

/** One create-with-confirm payment, timed; `answered_at_ms` is when its response arrived. */
async function payOnce(base_url) {
  const started_ms = performance.now();
  const response = await fetch(`${base_url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Bearer ${BENCH_SECRET_KEY}`,
      'Idempotency-Key': `bench_probe_${randomBytes(8).toString('hex')}`,
    },
    body: 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true',
    signal: AbortSignal.timeout(PROBE_REQUEST_TIMEOUT_MS),
  });
  const body = await response.json();
  const answered_at_ms = performance.now();
  return { ok: response.status === 200, status: response.status, charge: body.latest_charge, answered_at_ms, latency_ms: answered_at_ms - started_ms };
}

/**
 * One connection polls ledger.transfers every POSTING_POLL_MS for the charges awaited, by source_id
 * (indexed, and the same column in both builds' schemas); `waitFor(charge)` resolves with the time of
 * the first poll that saw its capture posting, or undefined after POSTING_WAIT_LIMIT_MS.
 */
function startPostingWatch(database_url) {
  const client = new pg.Client({ connectionString: database_url, application_name: 'payrail-bench-lag' });
  client.on('error', () => {}); // a lost connection shows as probes without a posting
  const waiting = new Map();
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      if (waiting.size > 0) {
        const { rows } = await client.query(`SELECT source_id FROM ledger.transfers WHERE kind = 'capture' AND source_id = ANY($1::text[])`, [
          [...waiting.keys()],
        ]);
        const seen_ms = performance.now();
        for (const { source_id } of rows) {
          waiting.get(source_id)?.(seen_ms);
          waiting.delete(source_id);
        }
      }
      await sleep(POSTING_POLL_MS);
    }
  })();
  return {
    waitFor(charge) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(charge);
          resolve(undefined);
        }, POSTING_WAIT_LIMIT_MS);
        waiting.set(charge, (seen_ms) => {
          clearTimeout(timer);
          resolve(seen_ms);
        });
      });
    },
    async stop() {
      running = false;
      await loop.catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

function lagRows(lag) {
  return [
    [
      'lag phase',
      `${formatNumber(lag.phase_s, 0)} s more of the same confirm load (${formatNumber(lag.load.requests_per_s, 0)}/s, not metered), ${PROBE_WORKERS} probe payers beside it`,
    ],
    ['probe payments', `${formatNumber(lag.probes)} (create with confirm=true), p50 ${formatNumber(lag.probe_payment_p50_ms, 0)} ms each`],
    ['response→posting lag p50 ms', `${formatNumber(lag.lag_p50_ms, 1)}  (ledger.transfers polled every ${POSTING_POLL_MS} ms)`],
    ['response→posting lag p99 ms', formatNumber(lag.lag_p99_ms, 1)],
    ['response→posting lag max ms', formatNumber(lag.lag_max_ms, 1)],
  ];
}

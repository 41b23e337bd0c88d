// Payrail's hot path: create and confirm a payment intent (idempotent, one processor call), at load.
// A factory: one scenario per sandbox latency and per build (this tree, or BENCH_BEFORE's), each on
// a fresh database of its own so the counts it checks are its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../database.mjs';
import { formatNumber, freePort, loadProblems, loadRows, memoryRow } from '../lib.mjs';
import { costRows } from '../resources.mjs';
import { startServer, stopServer, uniqueHeader, warmUpAndMeasure } from './common.mjs';

export const BENCH_SECRET_KEY = 'sk_test_benchBenchBench0000000001';
const MS_PER_S = 1000;

/** A data directory for a Payrail server, removed at cleanup. */
export function payrailDataDir(ctx) {
  const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-data-'));
  ctx.cleanup.add('remove Payrail data dir', () => rmSync(data_dir, { recursive: true, force: true }));
  return data_dir;
}

/**
 * Starts one build's Payrail server (`build.root_dir`/dist/main.js, run from that tree) on
 * `database_url`, with the sandbox processor answering after `latency_ms`.
 */
/** Far above what one machine can send: the limiter never answers 429 in a bench run. */
const BENCH_RATE_LIMIT_PER_S = 10_000_000;

export async function startPayrail(ctx, { build, database_url, latency_ms, port, data_dir = payrailDataDir(ctx), risk_off = false, consumers = true }) {
  return startServer(ctx, {
    name: `Payrail ${build.label}${risk_off ? ' (risk off)' : ''}`,
    // Risk off: the bench's own entry, this tree's build with a risk engine that does nothing.
    script: risk_off ? join(build.root_dir, 'bench', 'risk-off-server.mjs') : join(build.root_dir, 'dist', 'main.js'),
    cwd: build.root_dir,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: database_url,
      PAYRAIL_DATA_DIR: data_dir,
      PAYRAIL_BOOTSTRAP_SECRET_KEY: BENCH_SECRET_KEY,
      PAYRAIL_DB_POOL_MAX: String(ctx.config.db_pool_max),
      PAYRAIL_SANDBOX_LATENCY_MS: String(latency_ms),
      // The bench measures the write path, not the per-merchant limiter: its one merchant sends
      // faster than the default 5,000 units/s when creating intents for the confirm runs.
      PAYRAIL_RATE_LIMIT_PER_S: String(BENCH_RATE_LIMIT_PER_S),
      PAYRAIL_RATE_LIMIT_BURST: String(BENCH_RATE_LIMIT_PER_S),
      LOG_LEVEL: 'warn',
      // Servers of both builds may run at once: each takes a free metrics port.
      PAYRAIL_METRICS_PORT: '0',
      // Off: the API role alone (src/roles/names.ts), no outbox consumer runs in the process.
      ...(consumers ? {} : { PAYRAIL_CONSUMERS: 'off' }),
    },
    port,
  });
}

/** The request every Payrail payment scenario sends (the key is set per request). */
export function paymentRequest(ctx, base_url) {
  return {
    url: `${base_url}/v1/payment_intents`,
    headers: { ...ctx.payment_request.headers, Authorization: `Bearer ${BENCH_SECRET_KEY}` },
    body: ctx.payment_request.body,
  };
}

/**
 * With every connection waiting `latency_ms` on the processor once per payment, the most a closed loop
 * of `connections` can do is connections ÷ latency payments/s, however fast the rest is.
 */
export function latencyCeiling_per_s(connections, latency_ms) {
  return latency_ms > 0 ? (connections * MS_PER_S) / latency_ms : NaN;
}

/** A block title naming the build when the run has two. */
export function payrailTitle(build, title) {
  return build.label ? `Payrail ${build.label}: ${title}` : `Payrail: ${title}`;
}

/** `variant`: { name, title, latency_ms, consumers? }; `build`: { label, suffix, root_dir }. */
export function paymentsScenario({ name, title, latency_ms, consumers = true }, build) {
  const scenario_name = `${name}${build.suffix}`;
  return {
    name: scenario_name,
    group: 'payments',
    title: payrailTitle(build, title),

    async run(ctx) {
      const database = await ctx.database_server.createDatabase();
      const port = await freePort();
      const server = await startPayrail(ctx, { build, database_url: database.url, latency_ms, port, consumers });
      const { warmup, load, costs, memory } = await warmUpAndMeasure(
        ctx,
        server,
        { ...paymentRequest(ctx, server.base_url), setupRequest: uniqueHeader('Idempotency-Key') },
        database.url,
      );
      const logged = { ...server.child.log_counts };
      const log_tail = server.child.outputTail();
      const stopped = await stopServer(server);

      const by_status = await intentsByStatus(database.url);
      await database.drop(); // counted: nothing left for autovacuum to write WAL for in later windows
      const succeeded = by_status.succeeded ?? 0;
      const expected = warmup.count_2xx + load.count_2xx;
      const problems = [...loadProblems(`${scenario_name} warm-up`, warmup), ...loadProblems(scenario_name, load)];
      if (succeeded !== expected) problems.push(`${scenario_name}: MISMATCH ${succeeded} succeeded payment intents, ${expected} 2xx responses`);
      if (logged.error > 0) problems.push(`${scenario_name}: logged ${logged.error} error lines; last output:\n${log_tail}`);

      const ceiling_per_s = latencyCeiling_per_s(ctx.config.connections, latency_ms);
      const ceiling_rows =
        latency_ms > 0
          ? [
              [
                'ceiling (conns ÷ latency)',
                `${formatNumber(ceiling_per_s, 0)}/s (${ctx.config.connections} connections ÷ ${latency_ms} ms, one processor call each); this run ×${formatNumber(load.requests_per_s / ceiling_per_s, 2)} of it`,
              ],
            ]
          : [];
      return {
        metrics: { ...load, memory, costs, latency_ms, ceiling_per_s },
        problems,
        rows: [
          ...loadRows(load).slice(0, 1),
          ...ceiling_rows,
          ...loadRows(load).slice(1),
          memoryRow(memory),
          ...costRows(costs, ctx.wal_note),
          [
            'intents by status',
            Object.entries(by_status)
              .map(([status, n]) => `${status}=${n}`)
              .join(' ') || 'none',
          ],
          [
            'succeeded vs 2xx',
            `${formatNumber(succeeded)} succeeded, ${formatNumber(expected)} 2xx (incl. warm-up) ${succeeded === expected ? 'OK' : 'MISMATCH'}`,
          ],
          ['log lines warn / error', `${logged.warn} / ${logged.error}`],
          ['shutdown', `${stopped.exit} in ${formatNumber(stopped.stop_ms, 0)} ms`],
        ],
      };
    },
  };
}

export async function intentsByStatus(database_url) {
  return withClient(database_url, async (client) => {
    const result = await client.query('SELECT status, count(*)::int AS n FROM payments.payment_intents GROUP BY status ORDER BY status');
    return Object.fromEntries(result.rows.map((row) => [row.status, row.n]));
  });
}

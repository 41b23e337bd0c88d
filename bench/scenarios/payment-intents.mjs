// Payrail's hot path: create and confirm a payment intent (idempotent, one processor call), at load.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../database.mjs';
import { formatNumber, freePort, loadProblems, loadRows, memoryRow } from '../lib.mjs';
import { startServer, stopServer, uniqueHeader, warmUpAndMeasure } from './common.mjs';

export const BENCH_SECRET_KEY = 'sk_test_benchBenchBench0000000001';
const SANDBOX_LATENCY_MS = 0;

export const paymentIntents = {
  name: 'payment_intents',
  title: 'Payrail: POST /v1/payment_intents confirm=true (pm_card_visa, fresh Idempotency-Key each)',

  async run(ctx) {
    const data_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-data-'));
    ctx.cleanup.add('remove Payrail data dir', () => rmSync(data_dir, { recursive: true, force: true }));
    const port = await freePort();
    const server = await startServer(ctx, {
      name: 'Payrail',
      script: join(ctx.root_dir, 'dist', 'main.js'),
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: ctx.database.url,
        PAYRAIL_DATA_DIR: data_dir,
        PAYRAIL_BOOTSTRAP_SECRET_KEY: BENCH_SECRET_KEY,
        PAYRAIL_DB_POOL_MAX: String(ctx.config.db_pool_max),
        PAYRAIL_SANDBOX_LATENCY_MS: String(SANDBOX_LATENCY_MS),
        LOG_LEVEL: 'warn',
      },
      port,
    });
    const { warmup, load, memory } = await warmUpAndMeasure(ctx, server, {
      url: `${server.base_url}/v1/payment_intents`,
      headers: { ...ctx.payment_request.headers, Authorization: `Bearer ${BENCH_SECRET_KEY}` },
      body: ctx.payment_request.body,
      setupRequest: uniqueHeader('Idempotency-Key'),
    });
    const logged = { ...server.child.log_counts };
    const log_tail = server.child.outputTail();
    const stopped = await stopServer(server);

    const by_status = await intentsByStatus(ctx.database.url);
    const succeeded = by_status.succeeded ?? 0;
    const expected = warmup.count_2xx + load.count_2xx;
    const problems = [...loadProblems('payrail warm-up', warmup), ...loadProblems('payrail', load)];
    if (succeeded !== expected) problems.push(`payrail: MISMATCH ${succeeded} succeeded payment intents, ${expected} 2xx responses`);
    if (logged.error > 0) problems.push(`payrail: logged ${logged.error} error lines; last output:\n${log_tail}`);

    return {
      metrics: { ...load, memory },
      problems,
      rows: [
        ...loadRows(load),
        memoryRow(memory),
        ['intents by status', Object.entries(by_status).map(([status, n]) => `${status}=${n}`).join(' ') || 'none'],
        ['succeeded vs 2xx', `${formatNumber(succeeded)} succeeded, ${formatNumber(expected)} 2xx (incl. warm-up) ${succeeded === expected ? 'OK' : 'MISMATCH'}`],
        ['log lines warn / error', `${logged.warn} / ${logged.error}`],
        ['shutdown', `${stopped.exit} in ${formatNumber(stopped.stop_ms, 0)} ms`],
      ],
    };
  },
};

async function intentsByStatus(database_url) {
  return withClient(database_url, async (client) => {
    const result = await client.query('SELECT status, count(*)::int AS n FROM payments.payment_intents GROUP BY status ORDER BY status');
    return Object.fromEntries(result.rows.map((row) => [row.status, row.n]));
  });
}

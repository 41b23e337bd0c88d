// Baseline: a trivial Fastify + pg server doing one INSERT per request, under the same load as Payrail.
// It shows what this machine, Node and PostgreSQL allow; Payrail's figures are read against it.
import { join } from 'node:path';
import { withClient } from '../database.mjs';
import { formatNumber, freePort, loadProblems, loadRows, memoryRow } from '../lib.mjs';
import { costRows } from '../resources.mjs';
import { startServer, stopServer, uniqueHeader, warmUpAndMeasure } from './common.mjs';

const TABLE = 'bench_baseline';

export const baseline = {
  name: 'baseline',
  title: 'Baseline: Fastify + pg, one INSERT per request (POST /payments)',

  async run(ctx) {
    await withClient(ctx.database.url, (client) =>
      // Dropped first: with BENCH_ROUNDS each round's baseline starts from an empty table, as the first did.
      client.query(
        `DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, amount bigint NOT NULL, currency text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      ),
    );
    const port = await freePort();
    const server = await startServer(ctx, {
      name: 'baseline server',
      script: join(ctx.root_dir, 'bench', 'baseline-server.mjs'),
      args: [String(port)],
      env: { DATABASE_URL: ctx.database.url, BENCH_BASELINE_TABLE: TABLE, BENCH_DB_POOL_MAX: String(ctx.config.db_pool_max) },
      port,
    });
    const { warmup, load, costs, memory } = await warmUpAndMeasure(
      ctx,
      server,
      {
        url: `${server.base_url}/payments`,
        headers: ctx.payment_request.headers,
        body: ctx.payment_request.body,
        // Same request shape as Payrail's, unique key included, so the client side does the same work.
        setupRequest: uniqueHeader('Idempotency-Key'),
      },
      ctx.database.url,
    );
    const stopped = await stopServer(server);

    const rows_inserted = await withClient(ctx.database.url, async (client) => (await client.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n);
    const expected = warmup.count_2xx + load.count_2xx;
    const problems = [...loadProblems('baseline warm-up', warmup), ...loadProblems('baseline', load)];
    if (rows_inserted !== expected) problems.push(`baseline: MISMATCH ${rows_inserted} rows inserted, ${expected} 2xx responses`);

    return {
      metrics: { ...load, memory, costs },
      problems,
      rows: [
        ...loadRows(load),
        memoryRow(memory),
        ...costRows(costs, ctx.wal_note),
        ['rows vs 2xx', `${formatNumber(rows_inserted)} rows, ${formatNumber(expected)} 2xx (incl. warm-up) ${rows_inserted === expected ? 'OK' : 'MISMATCH'}`],
        ['shutdown', `${stopped.exit} in ${formatNumber(stopped.stop_ms, 0)} ms`],
      ],
    };
  },
};

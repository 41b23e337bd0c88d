// The `marketplace` group of `npm run bench`: bench/marketplace-run.mjs (rides as destination charges
// with an application fee and the drivers' scheduled payout, against plain payments in the same run)
// in a child process, since it runs the TypeScript sources through vite-node. BENCH_RIDES sets its size
// (here 1000 by default, so the whole bench stays minutes long).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { formatNumber } from './lib.mjs';

const DEFAULT_RIDES = 1_000;
const RESULT_PREFIX = 'BENCH_RESULT ';

function runChild(root_dir, database_url, rides) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root_dir, 'node_modules/vite-node/vite-node.mjs'), join(root_dir, 'bench/marketplace-run.mjs')], {
      cwd: root_dir,
      env: { ...process.env, DATABASE_URL: database_url, BENCH_RIDES: String(rides) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

function phaseRow(phase) {
  const postgres = Number.isNaN(phase.postgres_cpu_us_per_op) ? 'n/a' : `${formatNumber(phase.postgres_cpu_us_per_op, 0)} µs`;
  return [
    phase.label,
    `${formatNumber(phase.per_s, 1)}/s, ${formatNumber(phase.seconds, 1)} s; per op: process CPU ${formatNumber(phase.process_cpu_us_per_op, 0)} µs, ` +
      `PostgreSQL CPU ${postgres}, WAL ${formatNumber(phase.wal_bytes_per_op, 0)} B`,
  ];
}

export const marketplaceBench = {
  name: 'marketplace',
  title: 'Marketplace: rides (destination charge + application fee, then the drivers’ payout) per second, against plain payments in the same run',
  extra_budget_s: 300,

  async run(ctx) {
    const rides = Number(process.env.BENCH_RIDES ?? DEFAULT_RIDES);
    // The child connects to this database to create (and drop) its own beside it.
    const database = await ctx.database_server.createDatabase();
    const { code, output } = await runChild(ctx.root_dir, database.url, rides).finally(() => database.drop());
    const line = output.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
    if (!line)
      return {
        rows: [['marketplace-run', `no result (exit ${code})`]],
        problems: [`marketplace bench: marketplace-run exited ${code} without a result`],
        metrics: {},
      };
    const result = JSON.parse(line.slice(RESULT_PREFIX.length));
    const rows = [
      ['size', `${result.rides} rides over ${result.drivers} drivers`],
      phaseRow(result.baseline),
      phaseRow(result.marketplace),
      ['ratio marketplace/baseline (per s)', formatNumber(result.ratio, 2)],
      ['WAL and PostgreSQL CPU', ctx.wal_note],
    ];
    const problems = result.valid ? [] : ['marketplace bench: payouts, driver balances or ledger verify do not match the rides'];
    return { rows, problems, metrics: { rides_per_s: result.marketplace.per_s, ratio: result.ratio } };
  },
};

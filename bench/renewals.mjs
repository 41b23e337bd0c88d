// The `billing` group of `npm run bench`: bench/renewals-run.mjs (renewing subscriptions due at one
// instant against bare payments in the same run) in a child process, since it runs the TypeScript
// sources through vite-node. BENCH_SUBSCRIPTIONS sets its size (here 2000 by default: the whole bench
// stays minutes long; run renewals-run.mjs alone for the 100000 of issue 20).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { formatNumber } from './lib.mjs';

const DEFAULT_SUBSCRIPTIONS = 2_000;
const RESULT_PREFIX = 'BENCH_RESULT ';

function runChild(root_dir, database_url, subscriptions) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root_dir, 'node_modules/vite-node/vite-node.mjs'), join(root_dir, 'bench/renewals-run.mjs')], {
      cwd: root_dir,
      env: { ...process.env, DATABASE_URL: database_url, BENCH_SUBSCRIPTIONS: String(subscriptions) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

export const renewalsBench = {
  name: 'billing',
  title: 'Billing: subscriptions renewed and their invoices paid, per second, against bare off-session payments in the same run',

  async run(ctx) {
    const subscriptions = Number(process.env.BENCH_SUBSCRIPTIONS ?? DEFAULT_SUBSCRIPTIONS);
    const database = await ctx.database_server.createDatabase();
    const { code, output } = await runChild(ctx.root_dir, database.url, subscriptions).finally(() => database.drop());
    const line = output.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
    if (!line)
      return { rows: [['renewals-run', `no result (exit ${code})`]], problems: [`billing bench: renewals-run exited ${code} without a result`], metrics: {} };
    const result = JSON.parse(line.slice(RESULT_PREFIX.length));
    const rows = [
      ...[result.baseline, result.renewals, result.collection].map((phase) => [
        phase.label,
        `${formatNumber(phase.per_s, 1)}/s, ${formatNumber(phase.seconds, 1)} s, peak RSS ${formatNumber(phase.peak_rss_mb, 0)} MB`,
      ]),
      ['invoices/s end to end', formatNumber(result.invoices_per_s, 1)],
      ['ratio to bare payments', formatNumber(result.ratio, 2)],
    ];
    const problems = result.valid ? [] : ['billing bench: paid cycle invoices, periods and charges do not match the subscriptions'];
    return { rows, problems, metrics: { invoices_per_s: result.invoices_per_s, ratio: result.ratio } };
  },
};

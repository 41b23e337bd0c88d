// Routing cost, in two parts, each beside a baseline measured in the same run:
// 1. the routing decision: µs per chooseRoute() over a merchant with 20 rules (the payment matches the
//    last one, so every rule is walked) and a 50/50 split, against a bare call returning a fixed route;
// 2. authorizations/s through the RoutingConnector with two sandbox accounts (50/50 split) against one,
//    and the sandbox called directly (no router): the router's price per attempt (its try records,
//    synchronously committed before each call) and whether a second account costs anything more.
// Part of `npm run bench` (group `routing`), or alone after a build: `node bench/routing.mjs`.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatNumber, percentile, printBlock } from './lib.mjs';

const DECISIONS_MAX = 200_000;
const CONCURRENCY = 16;
const PHASE_MAX_S = 4;

function routingConfig() {
  const accounts = ['mca_a', 'mca_b'].map((id) => ({ id, label: id, enabled: true }));
  const rules = Array.from({ length: 20 }, (_, i) => ({
    name: `rule-${i}`,
    conditions: i === 19 ? { currency: ['usd'], card_brand: ['visa'] } : { currency: ['eur'], card_country: ['DE', 'FR'], metadata: { tier: `t${i}` } },
    action:
      i === 19
        ? {
            type: 'split',
            splits: [
              { account: 'mca_a', weight: 50 },
              { account: 'mca_b', weight: 50 },
            ],
          }
        : { type: 'priority', accounts: ['mca_b'] },
  }));
  return { rules: { rules, default: { type: 'priority', accounts: ['mca_a', 'mca_b'] } }, version: 1, accounts };
}

function timeSync(fn, budget_s) {
  const samples = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(budget_s * 1e9));
  for (let i = 0; i < DECISIONS_MAX; i += 1) {
    const started = process.hrtime.bigint();
    fn(i);
    const ended = process.hrtime.bigint();
    samples.push(Number(ended - started) / 1000);
    if (ended > deadline) break;
  }
  return samples.sort((a, b) => a - b);
}

async function decisionCost(root_dir, phase_s) {
  const { chooseRoute, ALL_HEALTHY } = await import(pathToFileURL(join(root_dir, 'dist/services/connectors/index.js')).href);
  const config = routingConfig();
  const payments = Array.from({ length: 1000 }, (_, i) => ({
    amount: 1000 + i,
    currency: 'usd',
    facts: { brand: 'visa', country: 'US', metadata: {} },
    bin: '424242',
    attempt_id: `ch_bench${i}`,
  }));
  const fixed = { candidates: [{ account_id: 'mca_a', reason: 'fixed' }], skipped: [] };
  const bare = (payment) => (payment.amount > 0 ? fixed : null);
  const baseline = timeSync((i) => bare(payments[i % payments.length]), phase_s / 2);
  const decided = timeSync((i) => chooseRoute(config, payments[i % payments.length], ALL_HEALTHY), phase_s);
  return { baseline, decided };
}

async function throughput(root_dir, database_url, phase_s) {
  const dist = (path) => pathToFileURL(join(root_dir, 'dist', path)).href;
  const { createPool } = await import(dist('platform/db.js'));
  const { migrate } = await import(dist('platform/migrations.js'));
  const { ALL_MIGRATIONS } = await import(dist('migrations.js'));
  const { systemClock } = await import(dist('kernel/clock.js'));
  const connectors = await import(dist('services/connectors/index.js'));
  const pool = createPool(database_url, CONCURRENCY + 4);
  // As the server wires it: answers to tries on a pool that commits asynchronously (payment-services.ts).
  const answer_pool = createPool(database_url, CONCURRENCY, undefined, { asynchronous_commit: true });
  try {
    await migrate(pool, ALL_MIGRATIONS);
    const sandbox = new connectors.SandboxProcessor({ pool });
    const routerOver = (order) =>
      new connectors.RoutingConnector({
        directory: {
          route: (payment) => Promise.resolve(order(payment.attempt_id).map((account_id) => ({ account_id, reason: 'bench' }))),
          open: () => Promise.resolve(sandbox),
        },
        health: new connectors.ConnectorHealth(systemClock),
        tries: new connectors.RoutedTries(pool, answer_pool),
        clock: systemClock,
      });
    const variants = [
      ['sandbox direct (baseline)', sandbox],
      ['router, one account', routerOver(() => ['a'])],
      ['router, two accounts 50/50', routerOver((id) => (id.charCodeAt(id.length - 1) % 2 === 0 ? ['a', 'b'] : ['b', 'a']))],
    ];
    const results = [];
    for (const [label, connector] of variants) results.push({ label, ...(await drive(connector, label, phase_s)) });
    return results;
  } finally {
    await answer_pool.end();
    await pool.end();
  }
}

async function drive(connector, label, phase_s) {
  const tag = label.replace(/[^a-z]/g, '').slice(0, 12);
  const deadline = Date.now() + phase_s * 1000;
  let done = 0;
  let errors = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; Date.now() < deadline; i += 1) {
        const result = await connector
          .authorize({
            attempt_id: `ch_${tag}${worker}x${i}`,
            merchant_id: 'acct_bench',
            amount: 2000,
            currency: 'usd',
            card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' },
            capture: true,
            facts: { brand: 'visa', country: 'US', metadata: {} },
          })
          .catch(() => null);
        if (result?.outcome === 'authorized') done += 1;
        else errors += 1;
      }
    }),
  );
  return { per_s: done / ((Date.now() - started) / 1000), errors };
}

export const routingBench = {
  name: 'routing',
  title: 'Routing: µs per chooseRoute() against a bare call; authorizations/s through the router with two accounts vs one vs none',

  async run(ctx) {
    const phase_s = Math.min(ctx.config.duration_s, PHASE_MAX_S);
    const { baseline, decided } = await decisionCost(ctx.root_dir, phase_s);
    const database = await ctx.database_server.createDatabase();
    const runs = await throughput(ctx.root_dir, database.url, phase_s);
    await database.drop();
    const [direct, one, two] = runs;
    const rows = [
      [
        'chooseRoute p50 / p99 µs',
        `${formatNumber(percentile(decided, 0.5), 2)} / ${formatNumber(percentile(decided, 0.99), 2)} (${decided.length} decisions, 20 rules walked)`,
      ],
      ['bare call p50 / p99 µs', `${formatNumber(percentile(baseline, 0.5), 2)} / ${formatNumber(percentile(baseline, 0.99), 2)}`],
      ...runs.map((run) => [`${run.label} authorizations/s`, `${formatNumber(run.per_s, 0)} (${CONCURRENCY} concurrent, ${run.errors} not authorized)`]),
      ['two accounts ÷ one account', formatNumber(two.per_s / one.per_s, 2)],
      ['router (one account) ÷ sandbox direct', formatNumber(one.per_s / direct.per_s, 2)],
    ];
    const problems = runs.filter((run) => run.errors > 0).map((run) => `routing bench: ${run.label}: ${run.errors} authorizations failed`);
    return {
      rows,
      problems,
      metrics: {
        decision_p50_us: percentile(decided, 0.5),
        decision_p99_us: percentile(decided, 0.99),
        two_over_one: two.per_s / one.per_s,
        router_over_direct: one.per_s / direct.per_s,
      },
    };
  },
};

// Alone: node bench/routing.mjs (after npm run build; DATABASE_URL names the server to use).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { openBenchServer } = await import('./database.mjs');
  const { Cleanup } = await import('./lib.mjs');
  const cleanup = new Cleanup();
  try {
    const database_server = await openBenchServer(cleanup);
    const root_dir = join(fileURLToPath(new URL('.', import.meta.url)), '..');
    const outcome = await routingBench.run({ root_dir, database_server, config: { duration_s: PHASE_MAX_S } });
    printBlock(routingBench.title, outcome.rows);
    if (outcome.problems.length > 0) process.exitCode = 1;
  } finally {
    await cleanup.runAll();
  }
}

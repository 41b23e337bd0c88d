// Payrail's benchmark: `npm run bench`. Runs each scenario in turn against fresh PostgreSQL databases,
// prints a block per scenario, the comparisons (before/after, against the baseline), then the targets
// with PASS/MISS. Exits non-zero on errors (non-2xx, request errors, database mismatches); a MISS
// alone does not fail.
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEFORE_PREPARE_LIMIT_MS, prepareBeforeBuild } from './before.mjs';
import { openBenchServer } from './database.mjs';
import { baselineRows, beforeAfterRows, consumersShareRows } from './compare.mjs';
import { Cleanup, formatNumber, printBlock } from './lib.mjs';
import { medianResults, ROUNDS_MAX, spreadRows } from './rounds.mjs';
import { baseline } from './scenarios/baseline.mjs';
import { paymentsScenario } from './scenarios/payment-intents.mjs';
import { confirmScenario } from './scenarios/confirm.mjs';
import { riskRatioScenario } from './scenarios/risk-ratio.mjs';
import { ledger } from './scenarios/ledger.mjs';
import { events } from './scenarios/events.mjs';
import { recoveryScenario } from './scenarios/recovery.mjs';
import { riskScoring, SCORING_P99_LIMIT_US } from './risk-scoring.mjs';
import { routingBench } from './routing.mjs';
import { renewalsBench } from './renewals.mjs';
import { marketplaceBench } from './marketplace.mjs';

const CONNECTIONS = 32;
const DB_POOL_MAX = 20; // Payrail's default pool size; the baseline gets the same
const DEFAULT_DURATION_S = 10;
const DEFAULT_WARMUP_S = 2;
/** The whole run is bounded: setup, every scenario's warm-up and load, drains, and cleanup. */
const WATCHDOG_BASE_MS = 5 * 60_000;
const EXIT_ERROR = 1;

const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Payrail's payment scenario at each sandbox latency; 200 ms is where holding locks across the call hurts. */
const PAYMENT_VARIANTS = [
  {
    name: 'payments_0ms',
    latency_ms: 0,
    label: 'create+confirm',
    per_s: 'payments/s',
    title: 'POST /v1/payment_intents confirm=true, sandbox latency 0 ms (pm_card_visa, fresh Idempotency-Key each)',
  },
  {
    // The same payments with the outbox consumers (ledger posting, webhooks, …) left out: the request
    // path's own cost, so the run shows how much of a payment's cost the consumers add.
    name: 'payments_0ms_api',
    latency_ms: 0,
    consumers: false,
    label: 'create+confirm, API only',
    per_s: 'payments/s',
    title: 'POST /v1/payment_intents confirm=true, sandbox latency 0 ms, PAYRAIL_CONSUMERS=off (the request path alone: nothing posted to the ledger)',
  },
  {
    name: 'payments_200ms',
    latency_ms: 200,
    label: 'create+confirm',
    per_s: 'payments/s',
    title: 'POST /v1/payment_intents confirm=true, sandbox latency 200 ms (each connection mostly waits on the processor)',
  },
];
/**
 * Confirming intents created beforehand: the path that, up to issue 8, held the intent's row lock
 * across the processor call. At 200 ms also the ledger lag of payments made while confirms wait.
 */
const CONFIRM_VARIANTS = [
  {
    name: 'confirm_0ms',
    latency_ms: 0,
    lag_probe: false,
    label: 'confirm',
    per_s: 'confirms/s',
    title: 'POST /v1/payment_intents/:id/confirm, sandbox latency 0 ms (intents created first; pm_card_visa, fresh Idempotency-Key each)',
  },
  {
    name: 'confirm_200ms',
    latency_ms: 200,
    lag_probe: true,
    label: 'confirm',
    per_s: 'confirms/s',
    title: 'POST /v1/payment_intents/:id/confirm, sandbox latency 200 ms (intents created first), then the ledger lag of payments made meanwhile',
  },
];
/** The kill lands while most payments wait on the processor: the answers the dead process never recorded. */
const RECOVERY_LATENCY_MS = 200;
/** The groups BENCH_ROUNDS repeats (each run on a fresh database or table); the others run in the first round only. */
const REPEATED_GROUPS = ['baseline', 'payments', 'confirm'];
const SCENARIO_GROUPS = ['baseline', 'payments', 'confirm', 'ledger', 'events', 'risk', 'routing', 'billing', 'marketplace', 'faults'];

/** This tree's build (dist/), and the one BENCH_BEFORE names (its `root_dir` is set once it is built). */
function plannedBuilds(config) {
  if (!config.before_ref) return [{ label: '', suffix: '', root_dir: ROOT_DIR }];
  return [
    { label: `before (${config.before_ref})`, suffix: '_before', root_dir: undefined },
    { label: 'after (this tree)', suffix: '', root_dir: ROOT_DIR },
  ];
}

/** Scenarios in running order; each build's run of a payment scenario sits next to the other's. */
function plannedScenarios(config, builds) {
  const all = [
    baseline,
    ...PAYMENT_VARIANTS.flatMap((variant) => builds.map((build) => paymentsScenario(variant, build))),
    ...CONFIRM_VARIANTS.flatMap((variant) => builds.map((build) => confirmScenario(variant, build))),
    ledger,
    events,
    riskScoring,
    routingBench,
    renewalsBench,
    marketplaceBench,
    // This tree's risk engine priced against the same tree without it (group `risk`).
    ...builds.filter((build) => !build.suffix).map((build) => riskRatioScenario(build)),
    ...(config.faults ? builds.map((build) => recoveryScenario(RECOVERY_LATENCY_MS, build)) : []),
  ];
  return all.filter((scenario) => config.groups.includes(scenario.group ?? scenario.name));
}

/** Each target reads the scenario results; a MISS is reported, not fatal. */
const TARGETS = [
  {
    label: 'ratio payrail/baseline (req/s)',
    value: (r) => r.payments_0ms?.requests_per_s / r.baseline?.requests_per_s,
    compare: '>=',
    limit: 0.55,
    digits: 2,
  },
  { label: 'payrail latency p99 ms', value: (r) => r.payments_0ms?.latency_p99_ms, compare: '<', limit: 50, digits: 2 },
  {
    label: 'ratio risk on/risk off (payments/s)',
    value: (r) => r.risk_ratio?.ratio,
    compare: '>=',
    limit: 0.95,
    digits: 3,
  },
  { label: 'risk score() p99 µs, embedded', value: (r) => r.risk?.embedded?.p99_us, compare: '<', limit: SCORING_P99_LIMIT_US, digits: 1 },
  { label: 'risk score() p99 µs, Redis', value: (r) => r.risk?.redis?.p99_us, compare: '<', limit: SCORING_P99_LIMIT_US, digits: 1 },
  { label: 'payrail RSS peak MB', value: (r) => r.payments_0ms?.memory.peak_mb, compare: '<', limit: 250, digits: 0 },
];

const PAYMENT_REQUEST = {
  body: 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
};

function readConfig() {
  return {
    connections: CONNECTIONS,
    db_pool_max: DB_POOL_MAX,
    duration_s: positiveNumberSetting('BENCH_DURATION_S', DEFAULT_DURATION_S),
    warmup_s: positiveNumberSetting('BENCH_WARMUP_S', DEFAULT_WARMUP_S),
    before_ref: process.env.BENCH_BEFORE || undefined,
    faults: process.env.BENCH_FAULTS === '1',
    groups: scenarioGroupsSetting(process.env.BENCH_SCENARIOS),
    rounds: roundsSetting(process.env.BENCH_ROUNDS),
  };
}

/** BENCH_SCENARIOS=baseline,payments runs only those groups (faults still needs BENCH_FAULTS=1). */
function scenarioGroupsSetting(raw) {
  if (raw === undefined || raw.trim() === '') return SCENARIO_GROUPS;
  const groups = raw.split(',').map((group) => group.trim());
  const unknown = groups.filter((group) => !SCENARIO_GROUPS.includes(group));
  if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (known: ${SCENARIO_GROUPS.join(', ')})`);
  return groups;
}

function roundsSetting(raw) {
  if (raw === undefined || raw === '') return 1;
  const rounds = Number(raw);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX)
    throw new Error(`BENCH_ROUNDS must be a whole number from 1 to ${ROUNDS_MAX}, got "${raw}"`);
  return rounds;
}

function positiveNumberSetting(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

function printHeader(config, database_server, builds) {
  const cpu_list = cpus();
  printBlock('Payrail bench', [
    ['node', process.version],
    ['CPUs', `${cpu_list.length} × ${cpu_list[0]?.model ?? 'unknown'}`],
    [
      'load average 1/5 min',
      loadavg()
        .slice(0, 2)
        .map((value) => value.toFixed(2))
        .join(' / ') + ' (other work on this machine skews the figures)',
    ],
    ['PostgreSQL', `${database_server.server_version} (${database_server.source}; a fresh database per Payrail run, one shared by the rest)`],
    ['load', `${config.connections} connections, loopback, ${config.warmup_s} s warm-up + ${config.duration_s} s measured, pool ${config.db_pool_max}`],
    ['rounds', config.rounds === 1 ? '1' : `${config.rounds} of ${REPEATED_GROUPS.join(', ')} (the rest once); the comparisons and targets read the medians`],
    ['builds', builds.map((build) => build.label || 'this tree').join(', ')],
  ]);
}

function printBeforeBuild(before) {
  printBlock(`Before build: ${before.label}`, [
    ['commit', before.commit],
    ['worktree', `${before.root_dir} (removed at the end)`],
    ['dependencies', `${before.dependencies.how}: ${before.dependencies.why}`],
    ['prepared in', `${formatNumber(before.prepare_s, 1)} s (worktree, dependencies, tsc)`],
  ]);
}

function evaluateTargets(results) {
  return TARGETS.map((target) => {
    const value = target.value(results);
    if (value === undefined || Number.isNaN(value)) return [target.label, `${'n/a'.padStart(8)}   not run`];
    const pass = target.compare === '>=' ? value >= target.limit : value < target.limit;
    const wanted = `target ${target.compare} ${target.limit}`;
    return [target.label, `${formatNumber(value, target.digits).padStart(8)}   ${wanted.padEnd(16)}${pass ? 'PASS' : 'MISS'}`];
  });
}

async function main(config, cleanup, builds, scenarios) {
  const database_server = await openBenchServer(cleanup);
  printHeader(config, database_server, builds);
  const before = builds.find((build) => build.suffix === '_before');
  if (before) {
    Object.assign(before, await prepareBeforeBuild(config.before_ref, { root_dir: ROOT_DIR, cleanup }));
    printBeforeBuild(before);
  }
  const ctx = {
    config,
    cleanup,
    database_server,
    root_dir: ROOT_DIR,
    payment_request: PAYMENT_REQUEST,
    database: await database_server.createDatabase(),
    wal_note:
      database_server.source === 'embedded' ? 'embedded server: only the bench writes WAL' : 'WAL is per server: other clients of this shared server count too',
  };

  const rounds = [];
  const problems = [];
  for (let round = 1; round <= config.rounds; round++) {
    const results = {};
    for (const scenario of scenarios.filter((planned) => round === 1 || REPEATED_GROUPS.includes(planned.group ?? planned.name))) {
      const outcome = await scenario.run(ctx);
      results[scenario.name] = outcome.metrics;
      problems.push(...outcome.problems.map((problem) => (config.rounds > 1 ? `round ${round}: ${problem}` : problem)));
      printBlock(config.rounds > 1 ? `${scenario.title} [round ${round} of ${config.rounds}]` : scenario.title, outcome.rows);
    }
    rounds.push(results);
  }
  const results = medianResults(rounds);
  if (config.rounds > 1)
    printBlock(
      `Each round's requests/s (× that round's baseline); the blocks below read the medians of ${config.rounds} rounds`,
      spreadRows(
        rounds,
        [...PAYMENT_VARIANTS, ...CONFIRM_VARIANTS].flatMap(({ name }) => builds.map((build) => `${name}${build.suffix}`)),
      ),
    );
  if (before)
    printBlock(
      `Before → after, same run: ${before.label} → ${builds.at(-1).label}`,
      beforeAfterRows(results, [...PAYMENT_VARIANTS, ...CONFIRM_VARIANTS], config.connections),
    );
  const against_baseline = baselineRows(results, PAYMENT_VARIANTS, builds);
  if (against_baseline.length > 0) printBlock('Per payment against the baseline (one INSERT per request), same run', against_baseline);
  const consumers_share = consumersShareRows(results, builds);
  if (consumers_share.length > 0) printBlock("The consumers' share of a payment at 0 ms (with them − API only), same run", consumers_share);
  printBlock(problems.length > 0 ? 'Targets (NOT VALID: the run had errors, listed below)' : 'Targets', evaluateTargets(results));

  if (problems.length > 0) {
    process.stdout.write(`\nFAILED: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return EXIT_ERROR;
  }
  process.stdout.write('\nOK: no errors, every response 2xx, database counts match.\n');
  return 0;
}

/** The longest the whole run may take: fixed overhead, each scenario's load twice over per round, BENCH_BEFORE's build. */
function watchdogLimit_ms(config, scenarios) {
  const load_s = 2 * (config.duration_s + config.warmup_s);
  const scenarios_ms = scenarios.reduce((total, scenario) => {
    const runs = REPEATED_GROUPS.includes(scenario.group ?? scenario.name) ? config.rounds : 1;
    return total + runs * (load_s + (scenario.extra_budget_s ?? 0)) * 1000;
  }, 0);
  return WATCHDOG_BASE_MS + scenarios_ms + (config.before_ref ? BEFORE_PREPARE_LIMIT_MS : 0);
}

/** Runs the bench with cleanup on every path out: success, error, signal, or the watchdog. */
async function runBounded() {
  const cleanup = new Cleanup();
  const finish = async (code, message) => {
    if (message) process.stderr.write(`\nbench: ${message}\n`);
    await cleanup.runAll();
    process.exit(code);
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.on(signal, () => void finish(code, `interrupted by ${signal}, cleaning up`));
  }
  let config;
  try {
    config = readConfig();
  } catch (error) {
    return finish(EXIT_ERROR, error.message);
  }
  const builds = plannedBuilds(config);
  const scenarios = plannedScenarios(config, builds);
  const watchdog_ms = watchdogLimit_ms(config, scenarios);
  const watchdog = setTimeout(() => void finish(EXIT_ERROR, `did not finish within ${Math.round(watchdog_ms / 1000)} s`), watchdog_ms);
  watchdog.unref();
  try {
    const code = await main(config, cleanup, builds, scenarios);
    clearTimeout(watchdog);
    await finish(code);
  } catch (error) {
    await finish(EXIT_ERROR, `error: ${error.stack ?? error.message}`);
  }
}

await runBounded();

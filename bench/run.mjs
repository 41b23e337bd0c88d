// Payrail's benchmark: `npm run bench`. Runs each scenario in turn against one fresh PostgreSQL
// database, prints a block per scenario, then the targets with PASS/MISS.
// Exits non-zero on errors (non-2xx, request errors, database mismatches); a MISS alone does not fail.
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBenchDatabase } from './database.mjs';
import { Cleanup, formatNumber, printBlock } from './lib.mjs';
import { baseline } from './scenarios/baseline.mjs';
import { paymentIntents } from './scenarios/payment-intents.mjs';
import { ledger } from './scenarios/ledger.mjs';
import { events } from './scenarios/events.mjs';

const CONNECTIONS = 32;
const DB_POOL_MAX = 20; // Payrail's default pool size; the baseline gets the same
const DEFAULT_DURATION_S = 10;
const DEFAULT_WARMUP_S = 2;
/** The whole run is bounded: setup, every scenario's warm-up and load, drains, and cleanup. */
const WATCHDOG_BASE_MS = 5 * 60_000;
const EXIT_ERROR = 1;

const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Scenarios run in this order; later issues add theirs (ledger, events) here. */
const SCENARIOS = [baseline, paymentIntents, ledger, events];

/** Each target reads the scenario results; a MISS is reported, not fatal. */
const TARGETS = [
  {
    label: 'ratio payrail/baseline (req/s)',
    value: (r) => r.payment_intents.requests_per_s / r.baseline.requests_per_s,
    compare: '>=', limit: 0.55, digits: 2,
  },
  { label: 'payrail latency p99 ms', value: (r) => r.payment_intents.latency_p99_ms, compare: '<', limit: 50, digits: 2 },
  { label: 'payrail RSS peak MB', value: (r) => r.payment_intents.memory.peak_mb, compare: '<', limit: 250, digits: 0 },
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
  };
}

function positiveNumberSetting(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

function printHeader(config, database) {
  const cpu_list = cpus();
  printBlock('Payrail bench', [
    ['node', process.version],
    ['CPUs', `${cpu_list.length} × ${cpu_list[0]?.model ?? 'unknown'}`],
    ['load average 1/5 min', loadavg().slice(0, 2).map((value) => value.toFixed(2)).join(' / ') + ' (other work on this machine skews the figures)'],
    ['PostgreSQL', `${database.server_version} (${database.source}, database ${database.name})`],
    ['load', `${config.connections} connections, loopback, ${config.warmup_s} s warm-up + ${config.duration_s} s measured, pool ${config.db_pool_max}`],
  ]);
}

function evaluateTargets(results) {
  return TARGETS.map((target) => {
    const value = target.value(results);
    const pass = target.compare === '>=' ? value >= target.limit : value < target.limit;
    const wanted = `target ${target.compare} ${target.limit}`;
    return [target.label, `${formatNumber(value, target.digits).padStart(8)}   ${wanted.padEnd(16)}${pass ? 'PASS' : 'MISS'}`];
  });
}

async function main(config, cleanup) {
  const database = await openBenchDatabase(cleanup);
  printHeader(config, database);
  const ctx = { config, database, cleanup, root_dir: ROOT_DIR, payment_request: PAYMENT_REQUEST };

  const results = {};
  const problems = [];
  for (const scenario of SCENARIOS) {
    const outcome = await scenario.run(ctx);
    results[scenario.name] = outcome.metrics;
    problems.push(...outcome.problems);
    printBlock(scenario.title, outcome.rows);
  }
  printBlock(problems.length > 0 ? 'Targets (NOT VALID: the run had errors, listed below)' : 'Targets', evaluateTargets(results));

  if (problems.length > 0) {
    process.stdout.write(`\nFAILED: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return EXIT_ERROR;
  }
  process.stdout.write('\nOK: no errors, every response 2xx, database counts match.\n');
  return 0;
}

/** Runs the bench with cleanup on every path out: success, error, signal, or the watchdog. */
async function runBounded() {
  const cleanup = new Cleanup();
  const finish = async (code, message) => {
    if (message) process.stderr.write(`\nbench: ${message}\n`);
    await cleanup.runAll();
    process.exit(code);
  };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.on(signal, () => void finish(code, `interrupted by ${signal}, cleaning up`));
  }
  let config;
  try {
    config = readConfig();
  } catch (error) {
    return finish(EXIT_ERROR, error.message);
  }
  const watchdog_ms = WATCHDOG_BASE_MS + SCENARIOS.length * 2 * (config.duration_s + config.warmup_s) * 1000;
  const watchdog = setTimeout(() => void finish(EXIT_ERROR, `did not finish within ${Math.round(watchdog_ms / 1000)} s`), watchdog_ms);
  watchdog.unref();
  try {
    const code = await main(config, cleanup);
    clearTimeout(watchdog);
    await finish(code);
  } catch (error) {
    await finish(EXIT_ERROR, `error: ${error.stack ?? error.message}`);
  }
}

await runBounded();

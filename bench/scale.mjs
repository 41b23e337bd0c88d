// `npm run bench:scale`: payments/s through one API process and through two behind HAProxy, in the same
// run and at the same loads, on deploy/local's topology (NATS cluster at R3, Redis, PostgreSQL). For each
// step: throughput, latency, the event consumers' highest lag, and each process's CPU µs per payment
// (from /proc), from which the rate N machines would carry is computed. This machine has 2 cores: every
// process (load generator and PostgreSQL included) shares them, so two replicas cannot double anything
// here; the CPU cost per payment is the figure that carries over.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localTopology } from '../scripts/chaos/topology.mjs';
import { runLoad } from './lib.mjs';
import { uniqueHeader } from './scenarios/common.mjs';
import { consumerLag, cpuSnapshot, cpuSpent_us, sampleLag } from './scale-measure.mjs';

const DURATION_S = Number(process.env.BENCH_SCALE_DURATION_S ?? 8);
const CONNECTIONS = (process.env.BENCH_SCALE_CONNECTIONS ?? '4,16,32').split(',').map(Number);
const PORT_BASE = Number(process.env.BENCH_SCALE_PORT_BASE ?? 27600);
const DRAIN_WAIT_MS = 30_000;
const PAYMENT_BODY = 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true';

const dir = mkdtempSync(join(tmpdir(), 'payrail-scale-'));
const topology = localTopology(dir, PORT_BASE);
let pool;
try {
  process.stdout.write(await topology.up());
  const settings = topology.settings();
  pool = new pg.Pool({ connectionString: settings.DATABASE_URL, max: 2 });
  const steps = [];
  await measure('warm-up', topology.api_url, 4, settings); // JIT, pools and caches; not reported
  for (const connections of CONNECTIONS) {
    steps.push(await measure('one API process', topology.replicaUrl(1), connections, settings));
    steps.push(await measure('two behind HAProxy', topology.api_url, connections, settings));
  }
  printSteps(steps);
} finally {
  await pool?.end();
  await topology.down();
  const url = new URL(topology.settings().DATABASE_URL);
  const admin = new pg.Client({ connectionString: url.toString().replace(url.pathname, '/postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

async function measure(target, url, connections, settings) {
  const pids = Object.fromEntries((await topology.components()).map((name) => [name, topology.pidOf(name)]));
  const before = await cpuSnapshot(pool, pids);
  const stopLag = sampleLag(pool, topology.nats_monitor_urls);
  const load = await runLoad({
    url: `${url}/v1/payment_intents`,
    connections,
    duration_s: DURATION_S,
    headers: { Authorization: `Bearer ${settings.PAYRAIL_BOOTSTRAP_SECRET_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: PAYMENT_BODY,
    setupRequest: uniqueHeader('Idempotency-Key'),
  });
  const highest_lag = await stopLag();
  const drained_ms = await waitForDrain();
  // Consumers finish this load's events before the CPU is read, so each payment carries its whole cost.
  const spent = cpuSpent_us(before, await cpuSnapshot(pool, pids));
  const per_payment = {};
  for (const [name, us] of Object.entries(spent)) per_payment[groupOf(name)] = (per_payment[groupOf(name)] ?? 0) + (load.count_2xx ? us / load.count_2xx : NaN);
  return { target, connections, load, highest_lag, drained_ms, per_payment };
}

/** Processes are reported by kind: the API replicas, the role processes behind them, NATS, and the rest by name. */
function groupOf(name) {
  if (name.startsWith('api-')) return 'api';
  if (name.startsWith('nats-')) return 'nats';
  if (['haproxy', 'redis', 'postgres'].includes(name)) return name;
  return 'roles';
}

async function waitForDrain() {
  const started = Date.now();
  while (Date.now() - started < DRAIN_WAIT_MS) {
    const lags = Object.values(await consumerLag(pool, topology.nats_monitor_urls));
    if (lags.every((lag) => lag === 0)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return NaN;
}

function printSteps(steps) {
  const cores = availableParallelism();
  const lines = [
    '',
    `Scale bench: ${DURATION_S} s per step, ${cores} cores shared by every process (load generator and PostgreSQL included)`,
    '',
    'target               conns  payments/s  p50 ms  p99 ms  non-2xx  highest lag (consumer)     drain s  CPU µs/payment: api  roles  haproxy  nats  redis  postgres  total',
  ];
  for (const step of steps.filter((entry) => entry.target !== 'warm-up')) {
    const [lag_consumer, lag] = Object.entries(step.highest_lag).sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    const cost = step.per_payment;
    const total = Object.values(cost).reduce((sum, us) => sum + us, 0);
    step.total_us = total;
    lines.push(
      [
        step.target.padEnd(20),
        String(step.connections).padStart(5),
        step.load.requests_per_s.toFixed(1).padStart(11),
        step.load.latency_p50_ms.toFixed(0).padStart(7),
        step.load.latency_p99_ms.toFixed(0).padStart(7),
        String(step.load.non_2xx + step.load.errors).padStart(8),
        `${lag} (${lag_consumer})`.padEnd(26),
        (step.drained_ms / 1000).toFixed(1).padStart(7),
        (cost.api ?? 0).toFixed(0).padStart(21),
        (cost.roles ?? 0).toFixed(0).padStart(6),
        (cost.haproxy ?? 0).toFixed(0).padStart(8),
        (cost.nats ?? 0).toFixed(0).padStart(5),
        (cost.redis ?? 0).toFixed(0).padStart(6),
        (cost.postgres ?? 0).toFixed(0).padStart(9),
        total.toFixed(0).padStart(6),
      ].join(' '),
    );
  }
  const cheapest = Math.min(...steps.filter((step) => step.total_us > 0).map((step) => step.total_us));
  lines.push(
    '',
    `Whole topology: about ${cheapest.toFixed(0)} CPU µs per payment, so one core carries about ${(1e6 / cheapest).toFixed(0)} payments/s`,
    `and N machines of C cores about N × C × ${(1e6 / cheapest).toFixed(0)} payments/s, while PostgreSQL (one primary) keeps up;`,
    `here ${cores} cores cap the whole topology at about ${((cores * 1e6) / cheapest).toFixed(0)} payments/s.`,
    '',
  );
  const failures = steps.flatMap((step) =>
    Object.entries(step.load.status_counts)
      .filter(([status]) => Number(status) >= 300)
      .map(([status, count]) => `${step.target} at ${step.connections}: ${count} × HTTP ${status}`),
  );
  if (failures.length > 0) lines.push(`Non-2xx answers: ${failures.join('; ')}`, '');
  process.stdout.write(lines.join('\n'));
}

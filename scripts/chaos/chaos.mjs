#!/usr/bin/env node
// `npm run chaos [-- --seed N --duration S --workers W --json FILE --keep]`: starts the local topology
// (deploy/local), drives payments through the official SDK, SIGKILLs and restarts one component of each
// kind on a seeded schedule, then checks that nothing acknowledged was lost, nobody was charged twice,
// the ledger verifies and every event reached the webhook receiver. Exit 1 when a check fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { faultSchedule } from './schedule.mjs';
import { localTopology } from './topology.mjs';
import { chaosClient, driveLoad, webhookReceiver } from './load.mjs';
import { chargedTwice, eventsDelivered, ledgerVerify, lostPayments, openPool, outboxPosition, streamReplication } from './checks.mjs';
import { faultRows, printReport } from './report.mjs';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    duration: { type: 'string', default: '42' },
    workers: { type: 'string', default: '3' },
    'port-base': { type: 'string', default: '27200' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const duration_s = Number(values.duration);
const schedule = faultSchedule(seed, duration_s);
const dir = mkdtempSync(join(tmpdir(), 'payrail-chaos-'));
const topology = localTopology(dir, Number(values['port-base']));

process.stdout.write(`chaos: seed ${seed}, ${duration_s} s, schedule ${JSON.stringify(schedule.map(({ kind, at_s, down_s }) => ({ kind, at_s, down_s })))}\n`);
let torn_down;
// Stopped from outside (Ctrl-C, a test's timeout): the topology's processes must not outlive the run.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}, stopping the topology\n`);
    void tearDown().finally(() => process.exit(1));
  });
}
let exit_code = 1;
try {
  await topology.up();
  exit_code = await chaosRun();
} finally {
  await tearDown();
}
process.exit(exit_code);

function tearDown() {
  torn_down ??= (async () => {
    await topology.down().catch((error) => process.stderr.write(`chaos: down failed: ${error.message}\n`));
    if (values.keep) return void process.stdout.write(`chaos: kept ${dir}\n`);
    await dropDatabase(topology.settings().DATABASE_URL).catch((error) => process.stderr.write(`chaos: drop database failed: ${error.message}\n`));
    rmSync(dir, { recursive: true, force: true });
  })();
  return torn_down;
}

async function chaosRun() {
  const settings = topology.settings();
  const pool = openPool(settings);
  const receiver = await webhookReceiver();
  try {
    const { stripe, responses } = chaosClient(topology.api_url, settings.PAYRAIL_BOOTSTRAP_SECRET_KEY);
    const endpoint = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    receiver.setSecret(endpoint.secret);
    const after_seq = await outboxPosition(pool);

    const started_ms = Date.now();
    let stopping = false;
    const load = driveLoad(stripe, { seed, workers: Number(values.workers), stop: () => stopping });
    const faults = await injectFaults(started_ms);
    const load_end_ms = started_ms + duration_s * 1_000;
    if (Date.now() < load_end_ms) await sleep(load_end_ms - Date.now());
    stopping = true;
    await load.done;

    const result = {
      seed,
      duration_s,
      payments: load.payments.length,
      failed_after_retries: load.payments.filter((payment) => payment.error !== undefined).length,
      lost: await lostPayments(pool, load.payments),
      charged_twice: await chargedTwice(pool),
      ledger: await ledgerVerify(settings),
      events: await eventsDelivered(pool, after_seq, receiver),
      bad_signatures: receiver.badSignatures(),
      stream: await streamReplication(topology.nats_monitor_urls),
      faults: faultRows(faults, load.payments, responses),
    };
    printReport(result);
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
    return passed(result) ? 0 : 1;
  } finally {
    await receiver.close();
    await pool.end();
  }
}

/** Runs the schedule: kill at the planned moment, stay down, restart and wait until the component is ready. */
async function injectFaults(started_ms) {
  const components = await topology.components();
  const api_replicas = components.filter((name) => name.startsWith('api-'));
  const done = [];
  for (const fault of schedule) {
    const wait_ms = started_ms + fault.at_s * 1_000 - Date.now();
    if (wait_ms > 0) await sleep(wait_ms);
    const target = await targetOf(fault, components, api_replicas);
    const killed_ms = Date.now();
    await topology.kill(target.name);
    await sleep(fault.down_s * 1_000);
    await topology.start(target.name);
    done.push({ ...fault, target: target.label, killed_ms, restarted_ms: Date.now() });
  }
  return done;
}

/**
 * The process a fault kills: the role's own process (the relay's leader among its replicas), or, for a
 * role this build runs inside the API processes, the API replica running it.
 */
async function targetOf(fault, components, api_replicas) {
  const pick = (names) => names[Math.floor(fault.pick * names.length)];
  const fixed = { 'api-replica': api_replicas, 'nats-node': ['nats-1', 'nats-2', 'nats-3'], redis: ['redis'] }[fault.kind];
  if (fixed) return { name: pick(fixed), label: pick(fixed) };
  const role = { vault: 'vault', 'relay-leader': 'relay', 'ledger-poster': 'ledger', 'webhook-sender': 'webhooks' }[fault.kind];
  const processes = components.filter((name) => name.replace(/-\d+$/, '') === role);
  const candidates = processes.length > 0 ? processes : api_replicas;
  const leader = role === 'relay' ? await topology.relayLeader(candidates) : undefined;
  const name = leader ?? pick(candidates);
  const how = processes.length === 0 ? ` (runs ${role} in process)` : leader ? ' (leader)' : '';
  return { name, label: `${name}${how}` };
}

function passed(result) {
  return (
    result.lost.acknowledged > 0 &&
    result.lost.lost === 0 &&
    result.charged_twice.twice === 0 &&
    result.ledger.clean &&
    result.events.missing === 0 &&
    result.events.unexpected === 0 &&
    result.bad_signatures === 0 &&
    result.stream.current === result.stream.replicas
  );
}

async function dropDatabase(database_url) {
  const url = new URL(database_url);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

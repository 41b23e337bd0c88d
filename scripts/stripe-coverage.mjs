#!/usr/bin/env node
// Sweeps Stripe's OpenAPI description (API 2023-08-16) and prints which operations Payrail serves,
// per resource. It asks a running Payrail, as a client would: every operation is sent once with
// placeholder ids and a parameter no route accepts, so a served route refuses it (400, nothing stored)
// and an unserved one answers Stripe's "Unrecognized request URL" 404.
//
//   PAYRAIL_URL=http://127.0.0.1:4242 PAYRAIL_SECRET_KEY=sk_test_… node scripts/stripe-coverage.mjs
//
// Without PAYRAIL_URL it starts the built server (`npm run build` first) on a throwaway embedded
// database. `--json` prints the result as JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SPEC_FILE = join(ROOT, '..', 'shared', 'stripe-openapi', 'spec3.2023-08-16.json');
const METHODS = ['get', 'post', 'delete'];
const PROBE_ID = 'zzcoverageprobe';
const PROBE_PARAM = '__coverage_probe';

/** Every operation in the spec: method, path template and the resource it belongs to. */
export function specOperations(spec) {
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) if (item[method]) operations.push({ method: method.toUpperCase(), path, resource: resourceOf(path) });
  }
  return operations;
}

/** `/v1/payment_intents/{intent}/confirm` → `payment_intents`; `/v1/test_helpers/x/…` → `test_helpers/x`. */
function resourceOf(path) {
  const segments = path
    .split('/')
    .slice(2)
    .filter((segment) => !segment.startsWith('{'));
  const nested = [
    'test_helpers',
    'checkout',
    'billing_portal',
    'radar',
    'issuing',
    'terminal',
    'treasury',
    'reporting',
    'sigma',
    'identity',
    'financial_connections',
    'tax',
    'apps',
    'climate',
  ];
  return nested.includes(segments[0]) && segments[1] ? `${segments[0]}/${segments[1]}` : segments[0];
}

async function ask(base_url, secret_key, method, path) {
  const url = `${base_url}${path.replace(/\{[^}]+\}/g, PROBE_ID)}`;
  const init = { method, headers: { authorization: `Bearer ${secret_key}` } };
  if (method === 'POST') {
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
    init.body = `${PROBE_PARAM}=1`;
  }
  const response = await fetch(method === 'GET' ? `${url}?${PROBE_PARAM}=1` : url, init);
  const body = await response.json().catch(() => ({}));
  return { status: response.status, code: body?.error?.code, message: body?.error?.message };
}

/**
 * Whether Payrail serves each operation. A literal path segment after a resource (`/v1/customers/search`)
 * may be caught by that resource's retrieve route; it counts as served only if it answers differently
 * from a made-up id in the same place.
 */
export async function probeCoverage(base_url, secret_key, spec) {
  const results = [];
  for (const operation of specOperations(spec)) {
    const answer = await ask(base_url, secret_key, operation.method, operation.path);
    let served = answer.code !== 'url_invalid';
    const literal_tail = /\/v1\/[a-z_]+\/[a-z_]+$/.test(operation.path);
    if (served && literal_tail) {
      const stand_in = await ask(base_url, secret_key, operation.method, operation.path.replace(/[a-z_]+$/, PROBE_ID));
      served = !(stand_in.status === answer.status && stand_in.code === answer.code);
    }
    results.push({ ...operation, served });
  }
  return results;
}

/** Served and total operations per resource, sorted by resource. */
export function summarize(results) {
  const by_resource = new Map();
  for (const { resource, served } of results) {
    const entry = by_resource.get(resource) ?? { resource, served: 0, total: 0 };
    entry.total += 1;
    if (served) entry.served += 1;
    by_resource.set(resource, entry);
  }
  const resources = [...by_resource.values()].sort((a, b) => a.resource.localeCompare(b.resource));
  const served = results.filter((result) => result.served).length;
  return { served, total: results.length, resources };
}

async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The built server on a throwaway embedded database; resolves when it answers /healthz. */
async function startThrowawayServer() {
  const data_dir = mkdtempSync(join(tmpdir(), 'payrail-coverage-'));
  const [port, pg_port] = [await freePort(), await freePort()];
  const secret_key = `sk_test_${randomBytes(24).toString('hex')}`;
  const env = {
    ...process.env,
    PORT: String(port),
    PAYRAIL_DATA_DIR: data_dir,
    PAYRAIL_SECRETS_DIR: join(data_dir, '..', `${data_dir.split('/').pop()}-secrets`),
  };
  Object.assign(env, { PAYRAIL_EMBEDDED_PG_PORT: String(pg_port), PAYRAIL_BOOTSTRAP_SECRET_KEY: secret_key, LOG_LEVEL: 'warn' });
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; waited < 60_000; waited += 250) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(data_dir, { recursive: true, force: true });
    rmSync(env.PAYRAIL_SECRETS_DIR, { recursive: true, force: true });
  };
  return { url, secret_key, stop };
}

async function main() {
  const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
  const server = process.env.PAYRAIL_URL
    ? { url: process.env.PAYRAIL_URL, secret_key: process.env.PAYRAIL_SECRET_KEY, stop: async () => {} }
    : await startThrowawayServer();
  try {
    const summary = summarize(await probeCoverage(server.url, server.secret_key, spec));
    if (process.argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const pct = (n, d) => `${((100 * n) / d).toFixed(0)} %`;
    for (const { resource, served, total } of summary.resources.filter((r) => r.served > 0)) {
      process.stdout.write(`${resource.padEnd(36)} ${String(served).padStart(3)} / ${String(total).padEnd(3)} ${pct(served, total)}\n`);
    }
    const untouched = summary.resources.filter((r) => r.served === 0).length;
    process.stdout.write(`(${untouched} more resources with no operation served)\n`);
    process.stdout.write(`Payrail serves ${summary.served} of Stripe's ${summary.total} operations (${pct(summary.served, summary.total)}).\n`);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

// Shared helpers for the bench: ports, child processes, health waits, memory sampling, load runs, output.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

const HEALTH_POLL_INTERVAL_MS = 100;
const HEALTH_REQUEST_TIMEOUT_MS = 2_000;
const OUTPUT_TAIL_LINES = 40;
const REQUEST_TIMEOUT_S = 10;
/** After the measured window, clients finish the request in flight; this bounds that wait. */
const DRAIN_LIMIT_S = REQUEST_TIMEOUT_S + 5;
const KB_PER_MB = 1024;
const LABEL_WIDTH = 26;

/** Runs `promise`, failing with a clear message if it takes longer than `timeout_ms`. */
export async function withTimeout(promise, timeout_ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${timeout_ms} ms`)), timeout_ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Steps to undo what the bench set up (children, databases, temp dirs), run last-in first-out,
 * once, each bounded, whatever happened before.
 */
export class Cleanup {
  #steps = [];
  #ran = false;

  add(name, fn, timeout_ms = 30_000) {
    this.#steps.push({ name, fn, timeout_ms });
  }

  async runAll() {
    if (this.#ran) return;
    this.#ran = true;
    for (const step of this.#steps.reverse()) {
      try {
        await withTimeout(Promise.resolve().then(step.fn), step.timeout_ms, `cleanup "${step.name}"`);
      } catch (error) {
        process.stderr.write(`bench: cleanup "${step.name}" failed: ${error.message}\n`);
      }
    }
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Children still running; killed outright if the bench process exits without stopping them. */
const live_children = new Set();
process.on('exit', () => {
  for (const child of live_children) child.kill('SIGKILL');
});

/**
 * Starts `node <script>` as a child process, keeping the tail of its output for error reports.
 * Node is spawned directly (not through npm or a shell) so `pid` is the server's own process.
 */
export function startNodeChild(name, script_path, { args = [], env = {}, cwd } = {}) {
  const child = spawn(process.execPath, [script_path, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live_children.add(child);
  const tail = [];
  const log_counts = { warn: 0, error: 0 };
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live_children.delete(child);
      resolve({ code, signal });
    });
  });
  const onLine = (line) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    const level = pinoLevel(line);
    if (level >= 50) log_counts.error += 1;
    else if (level >= 40) log_counts.warn += 1;
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  return {
    name,
    pid: child.pid,
    exited,
    log_counts,
    /** The last lines the child printed, for reports when something went wrong. */
    outputTail: () => tail.join('\n'),
    isRunning: () => child.exitCode === null && child.signalCode === null,
    /** SIGTERM, then SIGKILL if it has not exited within `timeout_ms`. */
    async stop(timeout_ms) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(timeout_ms).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Pino writes JSON lines with a numeric level (40 warn, 50 error, 60 fatal); other lines count as 0. */
function pinoLevel(line) {
  if (!line.startsWith('{')) return 0;
  try {
    return Number(JSON.parse(line).level) || 0;
  } catch {
    return 0;
  }
}

/** Polls GET `url` until it answers 200; fails early if the child exits, and after `timeout_ms`. */
export async function waitForHealthy(url, child, timeout_ms) {
  const deadline_ms = Date.now() + timeout_ms;
  let last_problem = 'no answer yet';
  while (Date.now() < deadline_ms) {
    if (!child.isRunning()) {
      throw new Error(`${child.name} exited before it was healthy:\n${child.outputTail()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last_problem = `status ${response.status}`;
    } catch (error) {
      last_problem = error.cause?.code ?? error.message;
    }
    await sleep(HEALTH_POLL_INTERVAL_MS);
  }
  throw new Error(`${child.name} not healthy at ${url} after ${timeout_ms} ms (${last_problem}):\n${child.outputTail()}`);
}

/** Reads VmRSS and VmHWM (peak resident set since start) of a Linux process, in MB. */
export function readMemory_mb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field_kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mb: field_kb('VmRSS') / KB_PER_MB, hwm_mb: field_kb('VmHWM') / KB_PER_MB };
}

/**
 * Samples a process's resident memory every `interval_ms` until stopped. The peak is the larger of
 * the highest sample and VmHWM: the kernel updates VmHWM lazily, so it can miss a short-lived high.
 */
export function startMemorySampler(pid, interval_ms) {
  let first_rss_mb = NaN;
  let max_rss_mb = 0;
  let last = { rss_mb: NaN, hwm_mb: NaN };
  const sample = () => {
    try {
      last = readMemory_mb(pid);
      if (Number.isNaN(first_rss_mb)) first_rss_mb = last.rss_mb;
      max_rss_mb = Math.max(max_rss_mb, last.rss_mb);
    } catch {
      // The process is gone; the caller notices through its exit.
    }
  };
  sample();
  const timer = setInterval(sample, interval_ms);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { start_rss_mb: first_rss_mb, max_rss_mb, hwm_mb: last.hwm_mb, peak_mb: Math.max(max_rss_mb, last.hwm_mb || 0) };
    },
  };
}

/**
 * Drives `connections` keep-alive connections at `url` for `duration_s`, one request in flight per
 * connection. `setupRequest(request)` may change each request (e.g. a fresh Idempotency-Key, its path);
 * `onResponse(status, body)` sees each response. With `amount`, the run ends after that many responses
 * (or at `duration_s`, whichever comes first).
 *
 * Unlike a plain autocannon duration run, in-flight requests are not cut off at the end: each
 * connection stops sending and waits for its last response, so every request the server handled is
 * counted on our side (the bench compares response counts with database rows). Latencies are kept
 * exactly (autocannon's histogram rounds to whole ms).
 */
export async function runLoad({ url, connections, duration_s, amount, method = 'POST', headers = {}, body, setupRequest, onResponse }) {
  const clients = [];
  const latencies_ms = [];
  const status_counts = {};
  let sent = 0;
  let last_response_ms = 0;

  const { instance, finished } = startAutocannon({
    url,
    connections,
    pipelining: 1,
    duration: duration_s + DRAIN_LIMIT_S, // the hard stop; the drain below normally ends the run first
    amount, // when set, the run ends after that many responses (autocannon then ignores `duration`)
    timeout: REQUEST_TIMEOUT_S,
    requests: [
      {
        method,
        headers,
        body,
        setupRequest: (request) => {
          sent += 1;
          return setupRequest ? setupRequest(request) : request;
        },
        onResponse,
      },
    ],
    setupClient: (client) => clients.push(client),
  });
  const started_ms = performance.now();
  instance.on('response', (_client, status_code, _bytes, latency_ms) => {
    latencies_ms.push(latency_ms);
    status_counts[status_code] = (status_counts[status_code] ?? 0) + 1;
    last_response_ms = performance.now();
  });
  const drain = setTimeout(() => drainClients(clients), duration_s * 1000);
  const result = await finished.finally(() => clearTimeout(drain));

  const responses = latencies_ms.length;
  const window_s = ((last_response_ms || performance.now()) - started_ms) / 1000;
  latencies_ms.sort((a, b) => a - b);
  const count_2xx = countRange(status_counts, 200, 299);
  return {
    sent,
    responses,
    count_2xx,
    non_2xx: responses - count_2xx,
    autocannon_2xx: result['2xx'],
    errors: result.errors,
    timeouts: result.timeouts,
    /** Requests sent but never answered (cut off by the hard stop); the server may still have done them. */
    unanswered: sent - responses,
    status_counts,
    window_s,
    requests_per_s: responses / window_s,
    latency_p50_ms: percentile(latencies_ms, 0.5),
    latency_p99_ms: percentile(latencies_ms, 0.99),
    latency_max_ms: latencies_ms.at(-1) ?? NaN,
  };
}

function startAutocannon(options) {
  let instance;
  const finished = new Promise((resolve, reject) => {
    instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
  return { instance, finished };
}

/** Each connection sends no new request after its current one; autocannon ends when all are done. */
function drainClients(clients) {
  for (const client of clients) {
    if (client.destroyed) continue;
    if (client.reqsMade === 0) client.destroy();
    else client.responseMax = client.reqsMade;
  }
}

function countRange(status_counts, low, high) {
  let total = 0;
  for (const [code, count] of Object.entries(status_counts)) {
    if (Number(code) >= low && Number(code) <= high) total += count;
  }
  return total;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, fraction) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function formatNumber(value, digits = 0) {
  if (typeof value !== 'number' || Number.isNaN(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Prints a titled block of label/value rows, labels padded into one column. */
export function printBlock(title, rows) {
  const width = Math.max(LABEL_WIDTH, ...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  process.stdout.write(`\n== ${title}\n${lines.join('\n')}\n`);
}

export function memoryRow(memory) {
  return [
    'RSS MB start / max / peak',
    `${formatNumber(memory.start_rss_mb, 0)} / ${formatNumber(memory.max_rss_mb, 0)} / ${formatNumber(memory.peak_mb, 0)} (VmRSS sampled; peak incl. VmHWM)`,
  ];
}

/** The rows every load block shows, in the same order. */
export function loadRows(load) {
  const statuses =
    Object.entries(load.status_counts)
      .map(([code, count]) => `${code}×${count}`)
      .join(' ') || 'none';
  return [
    ['requests/s', formatNumber(load.requests_per_s, 0)],
    ['latency p50 ms', formatNumber(load.latency_p50_ms, 2)],
    ['latency p99 ms', formatNumber(load.latency_p99_ms, 2)],
    ['latency max ms', formatNumber(load.latency_max_ms, 2)],
    ['responses', `${formatNumber(load.responses)} in ${formatNumber(load.window_s, 2)} s (status: ${statuses})`],
    ['non-2xx', formatNumber(load.non_2xx)],
    ['errors / timeouts', `${load.errors} / ${load.timeouts}`],
    ['unanswered at stop', formatNumber(load.unanswered)],
  ];
}

/** Problems with a load run that make the bench's figures untrustworthy (the bench exits non-zero). */
export function loadProblems(name, load) {
  const problems = [];
  if (load.responses === 0) problems.push(`${name}: no responses at all`);
  if (load.non_2xx > 0) problems.push(`${name}: ${load.non_2xx} non-2xx responses (${JSON.stringify(load.status_counts)})`);
  if (load.errors > 0) problems.push(`${name}: ${load.errors} request errors (${load.timeouts} timeouts)`);
  if (load.autocannon_2xx !== load.count_2xx) problems.push(`${name}: autocannon counted ${load.autocannon_2xx} 2xx, the bench ${load.count_2xx}`);
  if (load.unanswered > 0) problems.push(`${name}: ${load.unanswered} requests never answered`);
  return problems;
}

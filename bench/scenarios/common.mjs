// Steps every server scenario shares: start the server as a child, warm it up, measure it under load
// while sampling its memory, and stop it.
import { randomBytes } from 'node:crypto';
import { runLoad, startMemorySampler, startNodeChild, waitForHealthy } from '../lib.mjs';
import { startResourceMeter } from '../resources.mjs';

const SERVER_READY_TIMEOUT_MS = 60_000;
const SERVER_STOP_TIMEOUT_MS = 20_000;
const MEMORY_SAMPLE_INTERVAL_MS = 200;

/** Starts `node <script>` and waits for its health URL; the child is stopped at cleanup at the latest. */
export async function startServer(ctx, { name, script, args, env, health_path = '/healthz', port, cwd = ctx.root_dir }) {
  const child = startNodeChild(name, script, { args, env, cwd });
  ctx.cleanup.add(`stop ${name}`, () => child.stop(SERVER_STOP_TIMEOUT_MS), SERVER_STOP_TIMEOUT_MS + 5_000);
  const base_url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${base_url}${health_path}`, child, SERVER_READY_TIMEOUT_MS);
  return { child, base_url };
}

/** Stops a server and reports how it went (a clean shutdown exits 0 on SIGTERM). */
export async function stopServer(server) {
  const started_ms = performance.now();
  await server.child.stop(SERVER_STOP_TIMEOUT_MS);
  const { code, signal } = await server.child.exited;
  return { stop_ms: performance.now() - started_ms, exit: signal ?? `code ${code}` };
}

/**
 * A warm-up run (not reported, but its requests count for database checks), then the measured run,
 * with the server's memory sampled throughout and its CPU, PostgreSQL's and the WAL metered over the
 * measured run (`database_url` is the scenario's database).
 */
export async function warmUpAndMeasure(ctx, server, load_options, database_url) {
  const memory = startMemorySampler(server.child.pid, MEMORY_SAMPLE_INTERVAL_MS);
  try {
    const warmup = await runLoad({ ...load_options, connections: ctx.config.connections, duration_s: ctx.config.warmup_s });
    const meter = await startResourceMeter({ server_pid: server.child.pid, database_url });
    const load = await runLoad({ ...load_options, connections: ctx.config.connections, duration_s: ctx.config.duration_s });
    const costs = await meter.stop(load.responses);
    return { warmup, load, costs, memory: memory.stop() };
  } catch (error) {
    memory.stop();
    throw error;
  }
}

/** A setupRequest hook giving every request its own header value (e.g. a fresh Idempotency-Key). */
export function uniqueHeader(header_name, prefix = `bench_${randomBytes(4).toString('hex')}`) {
  let counter = 0;
  return (request) => {
    counter += 1;
    request.headers[header_name] = `${prefix}_${counter}`;
    return request;
  };
}

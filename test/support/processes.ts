import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The environment of a server started by a test: its port, database, data dir and default merchant's key. */
export function serverEnv(
  settings: { port: number; database_url: string; data_dir: string; secret_key: string },
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(settings.port),
    HOST: '127.0.0.1',
    DATABASE_URL: settings.database_url,
    PAYRAIL_DATA_DIR: settings.data_dir,
    PAYRAIL_BOOTSTRAP_SECRET_KEY: settings.secret_key,
    LOG_LEVEL: 'warn',
    // Servers started side by side must not all claim the default metrics port.
    PAYRAIL_METRICS_PORT: '0',
    ...extra,
  };
}

const START_TIMEOUT_MS = 30_000;
const HEALTH_POLL_MS = 50;

/** Starts the built server (dist/main.js, which `npm test` builds) and waits until /healthz answers. */
export async function startServerProcess(env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/main.js'], { env, stdio: 'ignore' });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** Starts the built server with its output kept, and waits until it says it is running (or exits). */
export async function spawnServer(env: NodeJS.ProcessEnv, timeout_ms = START_TIMEOUT_MS): Promise<ServerProcess> {
  let output = '';
  const child = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const deadline = Date.now() + timeout_ms;
  while (!output.includes('Payrail is running') && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  return { child, output: () => output };
}

/** The exit code once the process has exited; rejects if it is still running after `timeout_ms`. */
export function exitCodeWithin(child: ChildProcess, timeout_ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${timeout_ms} ms`)), timeout_ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

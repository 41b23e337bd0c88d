import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';

/**
 * A NATS server (JetStream, file store) owned by one test file, on its own port and store directory,
 * so a test can kill and restart it without touching the shared server on 4222. The port and store
 * are kept across restarts: a restarted server finds its streams again, as in production.
 */

const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Whether the nats-server binary is here (NATS_SERVER_BIN, default /usr/sbin/nats-server). */
export function natsServerInstalled(): boolean {
  return existsSync(NATS_SERVER_BIN);
}
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;
const PORT_POLL_MS = 20;

export interface OwnNatsServer {
  url: string;
  /** Starts the server (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL, as a crash: nothing is flushed or closed cleanly. */
  kill(): Promise<void>;
  /** Stops the server and removes its store. */
  dispose(): Promise<void>;
}

/** A server not yet started: its URL is known (and unreachable) until `start()`. */
export async function ownNatsServer(): Promise<OwnNatsServer> {
  const port = await freePort();
  const store_dir = mkdtempSync(join(tmpdir(), 'payrail-nats-'));
  let child: ChildProcess | undefined;

  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await withTimeout(exited, EXIT_TIMEOUT_MS, 'nats-server did not exit after SIGKILL');
  };

  return {
    url: `nats://127.0.0.1:${port}`,
    async start() {
      if (child) throw new Error('nats-server already running');
      child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store_dir], { stdio: 'ignore' });
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!(await accepts(port))) {
        if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error('nats-server did not start');
        await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS));
      }
    },
    kill,
    async dispose() {
      await kill();
      rmSync(store_dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stripeClient } from '../support/platform.js';
import { freePort } from '../support/processes.js';

/**
 * The newcomer's path: the server on its embedded PostgreSQL (no DATABASE_URL), the CLI used while
 * it runs, a clean SIGTERM stop, and a restart that finds the data again.
 */
const run = promisify(execFile);
const BOOTSTRAP_KEY = 'sk_test_embeddedEmbedded00000001';
const data_dir = mkdtempSync(join(tmpdir(), 'payrail-embedded-'));

let api_port = 0;
let pg_port = 0;
let server: ChildProcess | undefined;

function env(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  return {
    ...rest,
    PORT: String(api_port),
    HOST: '127.0.0.1',
    PAYRAIL_DATA_DIR: data_dir,
    PAYRAIL_EMBEDDED_PG_PORT: String(pg_port),
    PAYRAIL_BOOTSTRAP_SECRET_KEY: BOOTSTRAP_KEY,
    LOG_LEVEL: 'warn',
    // Servers started side by side must not all claim the default metrics port.
    PAYRAIL_METRICS_PORT: '0',
  };
}

async function start(): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, ['dist/main.js'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('Payrail is running')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output };
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await stopped(server);
  }
  rmSync(data_dir, { recursive: true, force: true });
});

describe('npm start on the embedded database', () => {
  it('serves payments, lets the CLI work alongside, stops cleanly and keeps data', { timeout: 180_000 }, async () => {
    api_port = await freePort();
    pg_port = await freePort();
    const first = await start();
    server = first.child;
    expect(first.output()).toContain(`Secret key:  ${BOOTSTRAP_KEY}`);
    expect(first.output()).toContain(`http://127.0.0.1:${api_port}/v1`);

    const stripe = stripeClient(`http://127.0.0.1:${api_port}`, BOOTSTRAP_KEY);
    const intent = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect((await fetch(`http://127.0.0.1:${api_port}/readyz`)).status).toBe(200);

    const cli = await run(process.execPath, ['bin/payrail.js', 'merchants', 'create', '--name', 'Second'], { env: env() });
    const second_key = /secret_key=(sk_test_\w+)/.exec(cli.stdout)?.[1];
    expect(second_key).toBeDefined();
    const other = stripeClient(`http://127.0.0.1:${api_port}`, String(second_key));
    expect((await other.paymentIntents.list()).data).toEqual([]);

    server.kill('SIGTERM');
    expect(await stopped(server)).toBe(0);

    const second = await start();
    server = second.child;
    expect((await stripe.paymentIntents.retrieve(intent.id)).amount_received).toBe(2500);
    server.kill('SIGTERM');
    expect(await stopped(server)).toBe(0);
  });
});

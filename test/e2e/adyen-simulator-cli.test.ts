import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { AdyenConnector } from '../../src/services/connectors/adapters/adyen-connector.js';
import { ProcessorOutcomeUnknown } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';
import { exitCodeWithin, freePort } from '../support/processes.js';
import { ADYEN_API_KEY, ADYEN_HMAC_KEY } from '../support/adyen.js';

/**
 * `payrail simulator adyen` as its own process, as docs/connectors.md tells a newcomer to run it: keys
 * from the environment (never printed then), faults for the whole run from --faults, the connector
 * paying through it, and a clean stop on SIGTERM.
 */

const START_TIMEOUT_MS = 120_000;
let pool: Pool;
let drop: () => Promise<void>;
let child: ChildProcess;
let output = '';
let url = '';

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(3));
  const port = await freePort();
  child = spawn(
    process.execPath,
    [
      'node_modules/vite-node/vite-node.mjs',
      'src/cli.ts',
      'simulator',
      'adyen',
      '--port',
      String(port),
      '--merchant-account',
      'CliECOM',
      '--faults',
      '{"next":[{"kind":"error_after"}]}',
    ],
    { env: { ...process.env, ADYEN_SIMULATOR_API_KEY: ADYEN_API_KEY, ADYEN_SIMULATOR_HMAC_KEY: ADYEN_HMAC_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/on (http:\S+)\/v71/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`simulator did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  url = /on (http:\S+)\/v71/.exec(output)?.[1] ?? '';
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await drop?.();
});

it('serves the connector with the run faults, prints no key it was given, and stops on SIGTERM', async () => {
  expect(output).toContain('merchant account: CliECOM');
  expect(output).not.toContain(ADYEN_API_KEY);
  expect(output).not.toContain(ADYEN_HMAC_KEY);
  const adyen = new AdyenConnector({
    credentials: { api_key: ADYEN_API_KEY, merchant_account: 'CliECOM', base_url: url, hmac_key: ADYEN_HMAC_KEY },
    merchant_id: 'acct_cli',
    pool,
    clock: { now_ms: () => Date.now() },
    timeout_ms: 5_000,
  });
  const request = {
    attempt_id: 'ch_cli_simulator_1',
    merchant_id: 'acct_cli',
    amount: 700,
    currency: 'eur',
    card: { number: '4000000000009995', exp_month: 1, exp_year: 2031, cvc: '123' },
    capture: true,
  };
  // The run's one fault: the payment is made, the answer is a 500; the retry gets the first answer.
  await expect(adyen.authorize(request)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
  await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'declined', decline_code: 'insufficient_funds', raw_code: '12' });
  const reference = (await (await fetch(`${url}/_simulator/references/ch_cli_simulator_1`, { headers: { 'x-api-key': ADYEN_API_KEY } })).json()) as {
    authorizations: number;
  };
  expect(reference.authorizations).toBe(1);
  child.kill('SIGTERM');
  expect(await exitCodeWithin(child, 10_000)).toBe(0);
});

import { randomBytes } from 'node:crypto';
import type { Command } from './command-line.js';
import { UsageError, command } from './command-line.js';
import type { FaultSettings } from '../simulators/adyen/faults.js';
import { faultSettingsSchema } from '../simulators/adyen/faults.js';
import { startAdyenSimulator } from '../simulators/adyen/server.js';

/**
 * `payrail simulator adyen`: the local simulator of Adyen's Checkout API v71 (docs/connectors.md,
 * "Simulators") as its own process, for trying the Adyen connector and for fault runs. The API key and
 * HMAC key come from the environment (ADYEN_SIMULATOR_API_KEY, ADYEN_SIMULATOR_HMAC_KEY) so they never
 * sit in a process list; absent, fresh ones are made and printed once, as a test key is on first start.
 */

const DEFAULT_PORT = 8090;
const DEFAULT_MERCHANT_ACCOUNT = 'PayrailTestECOM';

function port(text: string | undefined): number {
  const value = Number(text ?? DEFAULT_PORT);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new UsageError('--port must be 0 to 65535');
  return value;
}

function faults(text: string | undefined): FaultSettings | null {
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--faults must be JSON, e.g. {"rates":{"timeout_after":0.01}}');
  }
  const checked = faultSettingsSchema.safeParse(parsed);
  if (!checked.success) throw new UsageError(`--faults: ${checked.error.issues[0]?.message ?? 'not valid'}`);
  return parsed as FaultSettings;
}

export function simulatorCommands(): Command[] {
  return [
    command({
      words: ['simulator', 'adyen'],
      args: [],
      options: {
        port: { type: 'string', value: 'N', description: `port to listen on (default ${DEFAULT_PORT}; 0 picks one)` },
        host: { type: 'string', value: 'HOST', description: 'address to listen on (default 127.0.0.1)' },
        'merchant-account': { type: 'string', value: 'NAME', description: `merchant account accepted (default ${DEFAULT_MERCHANT_ACCOUNT})` },
        'notification-url': { type: 'string', value: 'URL', description: 'where signed notifications are POSTed (none if absent)' },
        faults: { type: 'string', value: 'JSON', description: 'faults for the whole run, e.g. {"latency_ms":50,"rates":{"timeout_after":0.01}}' },
        seed: { type: 'string', value: 'N', description: 'seed of the fault rates (default 1)' },
      },
      summary: "run a local simulator of Adyen's Checkout API (v71), with fault injection",
      async run(values) {
        const plan = faults(values.faults);
        const seed = Number(values.seed ?? 1);
        if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
        const given_key = process.env['ADYEN_SIMULATOR_API_KEY'];
        const given_hmac = process.env['ADYEN_SIMULATOR_HMAC_KEY'];
        const api_key = given_key ?? `AQE${randomBytes(24).toString('base64url')}`;
        const hmac_key_hex = given_hmac ?? randomBytes(32).toString('hex').toUpperCase();
        const merchant_account = values['merchant-account'] ?? DEFAULT_MERCHANT_ACCOUNT;
        const simulator = await startAdyenSimulator({
          api_key,
          hmac_key_hex,
          merchant_accounts: [merchant_account],
          notification_url: values['notification-url'] ?? null,
          host: values.host ?? '127.0.0.1',
          port: port(values.port),
          seed,
        });
        if (plan) simulator.faults.set(plan);
        const lines = [`Adyen simulator (Checkout v71) on ${simulator.url}/v71`, `merchant account: ${merchant_account}`];
        if (given_key === undefined) lines.push(`API key (X-API-Key): ${api_key}`);
        if (given_hmac === undefined) lines.push(`HMAC key: ${hmac_key_hex}`);
        process.stdout.write(`${lines.join('\n')}\n`);
        const stop = () => void simulator.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return null;
      },
    }),
  ];
}

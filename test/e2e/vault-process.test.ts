import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { freePort } from '../support/processes.js';

/**
 * The distributed shape of the vault (issue 16): the vault in its own process (the only one with the
 * key), the API in this one with PAYRAIL_VAULT_URL and a client certificate. Payments go through;
 * with the vault killed they answer a retryable 503 and charge nobody; after a restart the same
 * Idempotency-Key completes the payment once.
 */

const VISA = '4242424242424242';
const MASTERCARD = '5555555555554444';
const START_LIMIT_MS = 90_000;

let database: TestDatabase;
let dir: string;
let vault_port: number;
let vault_health_port: number;
let vault: ChildProcess | undefined;
const vault_output: string[] = [];
let t: TestPlatform;
/** The database as its owner sees it (the one both processes use; TestPlatform's `owner` is on another). */
let owner: pg.Pool;

const cert = (name: string) => join(dir, 'certs', name);

/** The vault role of the built server (`payrail start --service vault`): its own key, its own certificate, the vault database role. */
async function startVault(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      PAYRAIL_SERVICE: 'vault',
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(vault_port),
      PAYRAIL_HEALTH_PORT: String(vault_health_port),
      PAYRAIL_METRICS_PORT: '0',
      PAYRAIL_DB_POOL_MAX: '3',
      LOG_LEVEL: 'info',
      PAYRAIL_DATA_DIR: join(dir, 'vault-data'),
      PAYRAIL_SECRETS_DIR: join(dir, 'vault-secrets'),
      PAYRAIL_VAULT_KEY: VAULT_KEY,
      PAYRAIL_VAULT_TLS_CA: cert('ca.crt'),
      PAYRAIL_VAULT_TLS_CERT: cert('vault.crt'),
      PAYRAIL_VAULT_TLS_KEY: cert('vault.key'),
      PAYRAIL_VAULT_CALLERS: 'api',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the vault did not start: ${vault_output.join('')}`)), START_LIMIT_MS);
    // This start's output only: a restarted vault's log follows the first one's.
    let started = '';
    const collect = (chunk: Buffer) => {
      vault_output.push(String(chunk));
      started += String(chunk);
      if (started.includes('Payrail is running')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the vault exited (${code}): ${vault_output.join('')}`));
    });
  });
}

async function killVault(): Promise<void> {
  const child = vault;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  vault = undefined;
}

/** Only this test's process knows the key; the API process's environment never has it. */
const VAULT_KEY = randomBytes(32).toString('hex');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-vault-process-'));
  execFileSync('bash', ['deploy/local/ca.sh', join(dir, 'certs'), 'api'], { stdio: 'pipe' });
  database = await createTestDatabase();
  owner = new pg.Pool({ connectionString: database.url, max: 2 });
  vault_port = await freePort();
  vault_health_port = await freePort();
  vault = await startVault();
  t = await startTestPlatform(
    {
      vault_url: `https://127.0.0.1:${vault_port}`,
      vault_tls: { ca_file: cert('ca.crt'), cert_file: cert('api.crt'), key_file: cert('api.key') },
      secrets_dir: join(dir, 'api-secrets'),
      vault_key_hex: undefined,
    },
    // The vault process migrated this database; the API uses it as well.
    { route_database: () => database.url },
  );
}, START_LIMIT_MS * 2);

afterAll(async () => {
  await t?.stop();
  await killVault();
  await owner?.end();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function storedCard(number: string): Promise<string> {
  const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number, exp_month: 12, exp_year: 2040, cvc: '123' } });
  return method.id;
}

async function succeededCharges(): Promise<number> {
  const { rows } = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.charges WHERE state->>'status' = 'succeeded'`);
  return rows[0]?.n ?? -1;
}

describe('the vault in its own process', () => {
  it('pays with pm_card_visa and with a card number sent to the API, while the API process holds no vault key', async () => {
    const by_test_id = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(by_test_id.status).toBe('succeeded');
    const payment_method = await storedCard(MASTERCARD);
    const by_number = await t.stripe.paymentIntents.create({ amount: 3100, currency: 'usd', payment_method, confirm: true, expand: ['latest_charge'] });
    expect(by_number.status).toBe('succeeded');
    expect((by_number.latest_charge as Stripe.Charge).payment_method_details?.card?.last4).toBe('4444');

    // The card number went to the vault process only: sealed in the database, opened once, audited.
    const { rows } = await owner.query<{ sealed: Buffer; opened: number }>(
      `SELECT ciphertext AS sealed, (SELECT count(*)::int FROM vault.detokenizations WHERE payment_method_id = $1) AS opened FROM vault.payment_methods WHERE id = $1`,
      [payment_method],
    );
    expect(rows[0]?.opened).toBe(1);
    expect(rows[0]?.sealed.toString('latin1')).not.toContain(MASTERCARD);
    expect(vault_output.join('')).toMatch(new RegExp(`vault: card opened.*${payment_method}|${payment_method}.*vault: card opened`));
    // No key in this process: not in its environment, not in its secrets dir, and no key file was made for it.
    expect(process.env.PAYRAIL_VAULT_KEY).toBeUndefined();
    expect(t.config.vault_key_hex).toBeUndefined();
    expect(existsSync(join(dir, 'api-secrets', 'vault.key'))).toBe(false);
  });

  it('answers a retryable 503 for stored cards while the vault is down, charges them nobody, and completes once the vault is back', async () => {
    const payment_method = await storedCard(VISA);
    const charged_before = await succeededCharges();
    await killVault();

    const idempotency_key = `vault-down-${randomBytes(6).toString('hex')}`;
    const pay = () => t.stripe.paymentIntents.create({ amount: 4200, currency: 'usd', payment_method, confirm: true }, { idempotencyKey: idempotency_key });
    const refused = await pay().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Stripe.errors.StripeError);
    expect(refused).toMatchObject({ statusCode: 503, type: 'StripeAPIError', code: 'service_unavailable' });
    await expect(storedCard(VISA)).rejects.toMatchObject({ statusCode: 503, code: 'service_unavailable' });
    // Stripe's shared test ids hold no stored card: with their metadata known here, they need no vault.
    const by_test_id = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(by_test_id.status).toBe('succeeded');
    expect(await succeededCharges()).toBe(charged_before + 1);

    vault = await startVault();
    const retried = await pay();
    expect(retried.status).toBe('succeeded');
    expect(retried.amount).toBe(4200);
    expect(await succeededCharges()).toBe(charged_before + 2);
    const again = await pay();
    expect(again.id).toBe(retried.id);
    expect(await succeededCharges()).toBe(charged_before + 2);
  });

  it('writes no card number to the log of either process', () => {
    const everything = [...t.logs, ...vault_output].join('\n');
    expect(everything.length).toBeGreaterThan(0);
    for (const number of [VISA, MASTERCARD]) expect(everything).not.toContain(number);
  });
});

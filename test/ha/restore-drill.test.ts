import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/compose.js';
import { startPlatform } from '../../src/compose.js';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { TEST_SECRET_KEY, stripeClient } from '../support/platform.js';
import { freePort } from '../support/processes.js';

/**
 * The restore drill (deploy/backup/restore-drill.sh) after an operator's mistake: a PostgreSQL 15
 * primary archiving its WAL with pgBackRest, Payrail taking payments on it, a time T between two
 * batches, rows deleted and a table dropped afterwards; restored to T into a fresh data dir and port,
 * the copy holds every payment acknowledged before T and none after, its ledger verifies, and with
 * the vault key supplied apart from the backup a saved card still charges. With another key, Payrail
 * refuses the restored data. Prints the measured RPO and RTO. The drill runs the built CLI
 * (dist/, which `npm test` builds first).
 */
const run = promisify(execFile);
const DEV_CLUSTER = 'deploy/backup/dev-cluster.sh';
const RESTORE_DRILL = 'deploy/backup/restore-drill.sh';
const VAULT_KEY = randomBytes(32).toString('hex');
const PAYMENTS_BEFORE_T = 8;
const PAYMENTS_AFTER_T = 4;
const DELETED_BY_MISTAKE = 3;
/** More than a second on each side of T: `created` is whole seconds. */
const GAP_MS = 1_100;

const base = mkdtempSync(join(tmpdir(), 'payrail-restore-drill-'));
chmodSync(base, 0o711); // under root, PostgreSQL and pgBackRest run as `postgres` and must reach in
const primary_dir = join(base, 'primary');
const restore_dir = join(base, 'restore');
/** The secrets Payrail keeps apart from the data (the API key hash secret): supplied to the restore separately. */
const secrets_dir = join(base, 'secrets');
let primary_url = '';
const running: Platform[] = [];

interface Payrail {
  platform: Platform;
  stripe: Stripe;
}

async function startPayrail(database_url: string, vault_key: string): Promise<Payrail> {
  const config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    database_url,
    data_dir: mkdtempSync(join(base, 'payrail-data-')),
    secrets_dir,
    vault_key_hex: vault_key,
    bootstrap_secret_key: TEST_SECRET_KEY,
    db_pool_max: 4,
    metrics_port: 0,
    log_level: 'error',
  };
  const platform = await startPlatform(config, { logger: createLogger('error', process.stderr), events: { nats_url: null }, metrics: false });
  running.push(platform);
  return { platform, stripe: stripeClient(platform.url, TEST_SECRET_KEY) };
}

async function stopPayrail(payrail: Payrail): Promise<void> {
  running.splice(running.indexOf(payrail.platform), 1);
  await payrail.platform.stop();
}

async function ownerQuery<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function pay(stripe: Stripe, count: number): Promise<Stripe.PaymentIntent[]> {
  const intents: Stripe.PaymentIntent[] = [];
  for (let i = 0; i < count; i++) {
    const intent = await stripe.paymentIntents.create({ amount: 1000 + i, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    intents.push(intent);
  }
  return intents;
}

async function saveCard(stripe: Stripe): Promise<{ customer: string; payment_method: string }> {
  const customer = await stripe.customers.create({});
  const setup = await stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_visa', confirm: true, usage: 'off_session' });
  expect(setup.status).toBe('succeeded');
  if (typeof setup.payment_method !== 'string') throw new Error(`setup intent ${setup.id} saved no card`);
  return { customer: customer.id, payment_method: setup.payment_method };
}

/** The drill's `drill.<name>=<value>` lines; a failed drill (exit 1) fails the test with its output. */
async function restoreDrill(target: Date, port: number): Promise<Record<string, string>> {
  const args = [RESTORE_DRILL, '--config', join(primary_dir, 'conf/pgbackrest.conf'), '--to', target.toISOString(), '--dir', restore_dir];
  const env = { ...process.env, PAYRAIL_VAULT_KEY: VAULT_KEY, PAYRAIL_SECRETS_DIR: secrets_dir };
  const { stdout } = await run('bash', [...args, '--port', String(port), '--primary-url', primary_url, '--keep'], { env }).catch((error: unknown) => {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`restore drill failed:\n${failed.stdout ?? ''}${failed.stderr ?? String(error)}`);
  });
  process.stdout.write(stdout);
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.startsWith('drill.'))
      .map((line) => [line.slice('drill.'.length, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The files under `dir` holding any of `needles` (the restored data dir is the backup's files, uncompressed). */
function filesContaining(dir: string, needles: Buffer[]): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => {
      const content = readFileSync(file);
      return needles.some((needle) => content.includes(needle));
    });
}

/** The vault key as it could be written anywhere: hex either case, raw bytes, base64. */
function keyForms(hex: string): Buffer[] {
  const raw = Buffer.from(hex, 'hex');
  return [Buffer.from(hex), Buffer.from(hex.toUpperCase()), raw, Buffer.from(raw.toString('base64'))];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The newest payment by (created, id), as the drill reports it. */
function newest(intents: Stripe.PaymentIntent[]): Stripe.PaymentIntent | undefined {
  return [...intents].sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1)).at(-1);
}

beforeAll(async () => {
  const { stdout } = await run('bash', [DEV_CLUSTER, 'init', primary_dir, String(await freePort())]);
  primary_url = /DATABASE_URL=(\S+)/.exec(stdout)?.[1] ?? '';
  expect(primary_url).toMatch(/^postgres:\/\//);
});

afterAll(async () => {
  for (const platform of running.splice(0)) await platform.stop().catch(() => {});
  for (const dir of [restore_dir, primary_dir]) await run('bash', [DEV_CLUSTER, 'stop', dir]).catch(() => {});
  rmSync(base, { recursive: true, force: true });
});

describe('point-in-time restore drill', () => {
  it('restores to T: payments before T all there, none after, ledger clean, saved card charges with the key', { timeout: 240_000 }, async () => {
    const primary = await startPayrail(primary_url, VAULT_KEY);
    const card = await saveCard(primary.stripe);
    // The full backup the restore starts from; everything after it comes from the WAL archive.
    await run('bash', [DEV_CLUSTER, 'backup', primary_dir, 'full']);
    const before = await pay(primary.stripe, PAYMENTS_BEFORE_T);
    await sleep(GAP_MS);
    const target = new Date();
    await sleep(GAP_MS);
    const after = await pay(primary.stripe, PAYMENTS_AFTER_T);
    await stopPayrail(primary);

    // The operator's mistake, after T: payments deleted, a table dropped.
    const deleted = before.slice(0, DELETED_BY_MISTAKE).map((intent) => intent.id);
    await ownerQuery(primary_url, 'DELETE FROM payments.payment_intents WHERE id = ANY($1)', [deleted]);
    await ownerQuery(primary_url, 'DROP TABLE billing.invoice_items CASCADE');

    const drill = await restoreDrill(target, await freePort());
    const restored_url = drill.url ?? '';
    const restored = await ownerQuery<{ id: string }>(restored_url, 'SELECT id FROM payments.payment_intents ORDER BY id');
    expect(restored.map((row) => row.id)).toEqual(before.map((intent) => intent.id).sort());
    expect(after.some((intent) => restored.some((row) => row.id === intent.id))).toBe(false);
    expect(await ownerQuery(restored_url, "SELECT to_regclass('billing.invoice_items') AS t")).toEqual([{ t: 'billing.invoice_items' }]);
    expect(drill).toMatchObject({
      payments: String(PAYMENTS_BEFORE_T),
      last_payment_id: newest(before)?.id,
      missing_before_target: '0',
      recovered: String(DELETED_BY_MISTAKE),
      migrations: 'current',
      ledger_verify: 'clean',
      vault_key: 'opens',
    });
    const acknowledged_before_t = before.filter((intent) => intent.created * 1000 < target.getTime());
    const lost = acknowledged_before_t.filter((intent) => !restored.some((row) => row.id === intent.id));
    const rpo_s = lost.length === 0 ? 0 : (target.getTime() - Math.min(...lost.map((intent) => intent.created * 1000))) / 1000;
    expect(rpo_s).toBe(0);
    process.stdout.write(
      `restore drill: RPO ${rpo_s} s (${lost.length} of ${acknowledged_before_t.length} acknowledged payments lost), RTO ${drill.rto_s} s\n`,
    );

    // The backup holds the vault's data only wrapped: the key is in none of its files, in any form
    // (the scan does find what the backup holds, such as the saved card's id).
    const restored_files = join(restore_dir, 'data');
    expect(filesContaining(restored_files, [Buffer.from(card.payment_method)]).length).toBeGreaterThan(0);
    expect(filesContaining(restored_files, keyForms(VAULT_KEY))).toEqual([]);

    // Payrail on the restore, with the vault key and the secrets dir supplied apart from the backup.
    const copy = await startPayrail(restored_url, VAULT_KEY);
    const charged = await copy.stripe.paymentIntents.create({ ...card, amount: 4200, currency: 'usd', off_session: true, confirm: true });
    expect(charged.status).toBe('succeeded');
    expect((await copy.stripe.paymentIntents.retrieve(before[0]?.id ?? '')).status).toBe('succeeded');
    await expect(copy.stripe.paymentIntents.retrieve(after[0]?.id ?? '')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    await stopPayrail(copy);

    // Without the vault key the restored cards are ciphertext: Payrail refuses to run on them.
    await expect(startPayrail(restored_url, randomBytes(32).toString('hex'))).rejects.toThrow(/A key is lost/);
  });
});

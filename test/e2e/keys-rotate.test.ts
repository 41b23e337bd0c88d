import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevelopmentKms } from '../../src/services/vault/adapters/development-kms.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform } from '../support/platform.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer } from '../support/processes.js';

/**
 * `payrail keys rotate` while the server runs: the CLI (dist/cli.js, built by `npm test`) is killed
 * mid-rewrap, the server keeps paying with cards under the old and the new key version, and a second
 * run resumes where the first stopped, finishes, and retires the old version, which then opens nothing.
 */
const run = promisify(execFile);
const CARDS = 60;
const BATCH = 4;
const CLI_TIMEOUT_MS = 60_000;

let t: TestPlatform;
let secrets_dir: string;
let key_file: string;

function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: t.config.database_url, PAYRAIL_DATA_DIR: t.config.data_dir, PAYRAIL_SECRETS_DIR: secrets_dir, LOG_LEVEL: 'warn' };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env: cliEnv(), timeout: CLI_TIMEOUT_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * Starts a rotation; once it reports `batches` rewrapped batches, runs `meanwhile` (it is still
 * going: 500 ms between batches), then SIGKILLs it mid-rewrap.
 */
async function rotateAndKillAfter(batches: number, meanwhile: () => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, ['dist/cli.js', 'keys', 'rotate', '--purpose', 'cards', '--batch-size', String(BATCH), '--pause-ms', '500'], {
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      if ((stderr.match(/cards rewrapped/g) ?? []).length >= batches) resolve();
    });
    void exited.then(() => reject(new Error(`rotation ended too soon: ${stderr}`)));
  });
  await meanwhile();
  expect(child.exitCode, `the rotation finished before it was killed: ${stderr}`).toBeNull();
  child.kill('SIGKILL');
  await exited;
}

async function versions(): Promise<Map<number, number>> {
  const { rows } = await t.owner.query<{ key_version: number; n: number }>(
    `SELECT key_version, count(*)::int AS n FROM vault.payment_methods GROUP BY key_version ORDER BY key_version`,
  );
  return new Map(rows.map((row) => [row.key_version, row.n]));
}

async function versionOf(id: string): Promise<number> {
  const { rows } = await t.owner.query<{ key_version: number }>(`SELECT key_version FROM vault.payment_methods WHERE id = $1`, [id]);
  return rows[0]?.key_version ?? -1;
}

async function pay(payment_method: string): Promise<string> {
  const intent = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', payment_method, confirm: true });
  return intent.status;
}

let cards: string[] = [];
let first_wrapped = '';

beforeAll(async () => {
  secrets_dir = mkdtempSync(join(tmpdir(), 'payrail-keys-rotate-secrets-'));
  key_file = join(secrets_dir, 'vault.key');
  t = await startTestPlatform({ secrets_dir });
  for (let i = 0; i < CARDS; i++) {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } });
    cards.push(method.id);
  }
  cards = cards.sort();
  const { rows } = await t.owner.query<{ wrapped: string }>(`SELECT convert_from(wrapped_key, 'UTF8') AS wrapped FROM vault.payment_methods WHERE id = $1`, [
    cards[0],
  ]);
  first_wrapped = rows[0]?.wrapped ?? '';
}, 120_000);

afterAll(async () => {
  await t?.stop();
  rmSync(secrets_dir, { recursive: true, force: true });
});

describe('payrail keys rotate', () => {
  it('keeps the development key outside the data dir', () => {
    expect(readFileSync(key_file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(() => readFileSync(join(t.config.data_dir, 'vault.key'))).toThrow();
    expect(first_wrapped).toMatch(/^dev:v1:/);
  });

  it('killed mid-rewrap (a second rotation meanwhile is refused): old and new versions both decrypt, new cards get the new one', async () => {
    await rotateAndKillAfter(3, async () => {
      const second = await cli(['keys', 'rotate', '--purpose', 'cards']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('another payrail keys rotate is running');
    });
    const during = await versions();
    expect(during.get(1) ?? 0).toBeGreaterThan(0);
    expect(during.get(2) ?? 0).toBeGreaterThanOrEqual(3 * BATCH);

    const old_card = cards.at(-1) ?? '';
    const new_card = cards[0] ?? '';
    expect(await versionOf(old_card)).toBe(1);
    expect(await versionOf(new_card)).toBe(2);
    expect(await pay(old_card)).toBe('succeeded');
    expect(await pay(new_card)).toBe('succeeded');

    const made_now = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '5555555555554444', exp_month: 1, exp_year: 2041, cvc: '321' } });
    expect(await versionOf(made_now.id)).toBe(2);
    const { rows } = await t.owner.query<{ state: string }>(`SELECT state FROM vault.key_rotations WHERE purpose = 'cards'`);
    expect(rows).toEqual([{ state: 'rewrapping' }]);
  }, 90_000);

  it('run again: resumes without rotating again, rewraps the rest, and retires the old version', async () => {
    const done = await cli(['keys', 'rotate', '--purpose', 'cards', '--batch-size', String(BATCH), '--settle-seconds', '0']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain('cards: resuming the rewrap to key version 2');
    expect(done.stdout).toContain('cards: now v2');

    expect([...(await versions())]).toEqual([[2, CARDS + 1]]);
    const { rows } = await t.owner.query<{ state: string }>(`SELECT state FROM vault.key_rotations WHERE purpose = 'cards'`);
    expect(rows).toEqual([{ state: 'retired' }]);
    for (const card of [cards[0] ?? '', cards.at(-1) ?? '']) expect(await pay(card)).toBe('succeeded');

    // The security audit log has the rotation once (the resumed run did not rotate again) and the retirement.
    const audit = await t.owner.query<{ type: string; object_id: string; actor_type: string; data: { version: number; rewrapped?: number } }>(
      `SELECT type, object_id, actor_type, data::jsonb AS data FROM audit.security_events WHERE type LIKE 'key.%' ORDER BY seq`,
    );
    expect(audit.rows).toEqual([
      { type: 'key.rotated', object_id: 'cards', actor_type: 'cli', data: { version: 2 } },
      { type: 'key.retired', object_id: 'cards', actor_type: 'cli', data: { version: 2, rewrapped: expect.any(Number) as number } },
    ]);
  });

  it('after the rotation only the new version decrypts: a data key wrapped under the old one opens nothing', async () => {
    const kms = new DevelopmentKms({ kind: 'file', path: key_file });
    await expect(kms.unwrap('cards', first_wrapped)).rejects.toThrow(/retired/);
    const { rows } = await t.owner.query<{ wrapped: string }>(`SELECT convert_from(wrapped_key, 'UTF8') AS wrapped FROM vault.payment_methods WHERE id = $1`, [
      cards[0],
    ]);
    expect(rows[0]?.wrapped).toMatch(/^dev:v2:/);
    expect((await kms.unwrap('cards', rows[0]?.wrapped ?? '')).length).toBe(32);
    // Other purposes were not rotated: their version 1 still opens.
    expect((await kms.status('webhook_secrets')).min_decryption_version).toBe(1);
  });

  it('a server given another key (the key file lost) refuses to start, saying which runbook to follow', async () => {
    const lost_dir = mkdtempSync(join(tmpdir(), 'payrail-keys-lost-'));
    try {
      const port = await freePort();
      const env = serverEnv(
        { port, database_url: t.config.database_url ?? '', data_dir: t.config.data_dir, secret_key: TEST_SECRET_KEY },
        { PAYRAIL_SECRETS_DIR: lost_dir },
      );
      const server = await spawnServer(env);
      expect(await exitCodeWithin(server.child, 30_000)).toBe(1);
      expect(server.output()).toContain("cannot open the vault's keys in this database");
      expect(server.output()).toContain('A key is lost');
      expect(server.output()).not.toContain(readFileSync(join(lost_dir, 'vault.key'), 'utf8').trim());
    } finally {
      rmSync(lost_dir, { recursive: true, force: true });
    }
  });

  it('keys status names the KMS, the versions, and where the stored data keys are', async () => {
    const status = await cli(['keys', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('KMS: development');
    expect(status.stdout).toMatch(/cards: key .*, latest v2, decrypts from v2; last rotation to v2: retired/);
    expect(status.stdout).toContain(`cards: dev:v2 ${CARDS + 1}`);
    expect(status.stdout).not.toMatch(/[0-9a-f]{64}/);
  });
});

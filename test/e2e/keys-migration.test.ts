import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardFingerprint, deriveKeys, sealCard } from '../../src/services/vault/domain/crypto.js';
import { DevelopmentKms } from '../../src/services/vault/adapters/development-kms.js';
import { KmsChain } from '../../src/services/vault/app/kms-chain.js';
import { Envelopes } from '../../src/services/vault/app/envelope.js';
import { secretSealer } from '../../src/services/vault/app/secret-sealer.js';
import { WebhookSecret, sealSecret, webhookSecretKey } from '../../src/services/events/webhooks/secrets.js';
import { idempotencyHashKey } from '../../src/payment-services.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer } from '../support/processes.js';

/**
 * An install from before the KMS: its master key in `<data dir>/vault.key`, cards sealed under the
 * key-encryption key derived from it, webhook secrets under a key derived from the idempotency
 * secret. On start the key leaves the data dir and everything keeps opening; `payrail keys rotate`
 * (dist/cli.js) then moves every one of them onto the KMS and the master key can go.
 */
const run = promisify(execFile);
const PAN = '4000056655665556';
const MASTER = randomBytes(32);
const LEGACY = deriveKeys(MASTER);
const LEGACY_KEK_ID = `kek_${createHash('sha256').update(LEGACY.kek).digest('hex').slice(0, 12)}`;

let t: TestPlatform;
let data_dir: string;
let secrets_dir: string;
let merchant_id = '';
let card_id = '';
let endpoint = { id: '', secret: '' };

async function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    DATABASE_URL: t.config.database_url,
    PAYRAIL_DATA_DIR: data_dir,
    PAYRAIL_SECRETS_DIR: secrets_dir,
    LOG_LEVEL: 'warn',
    ...extra,
  };
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function sealerOnKeyFile(): ReturnType<typeof secretSealer> {
  const kms = new KmsChain(new DevelopmentKms({ kind: 'file', path: join(secrets_dir, 'vault.key') }), undefined);
  return secretSealer(new Envelopes(kms), 'webhook_secrets');
}

async function cardRow(): Promise<{ kek_id: string; key_version: number | null; state: { card: { fingerprint: string } } }> {
  const { rows } = await t.owner.query(`SELECT kek_id, key_version, state FROM vault.payment_methods WHERE id = $1`, [card_id]);
  return rows[0] as { kek_id: string; key_version: number | null; state: { card: { fingerprint: string } } };
}

async function sealedSecret(): Promise<Buffer> {
  const { rows } = await t.owner.query<{ sealed: Buffer }>(`SELECT secret_sealed AS sealed FROM events.webhook_endpoints WHERE id = $1`, [endpoint.id]);
  return rows[0]?.sealed ?? Buffer.alloc(0);
}

beforeAll(async () => {
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-keys-migration-data-'));
  secrets_dir = mkdtempSync(join(tmpdir(), 'payrail-keys-migration-secrets-'));
  writeFileSync(join(data_dir, 'vault.key'), MASTER.toString('hex'), { mode: 0o600 });
  t = await startTestPlatform({ data_dir, secrets_dir });

  // Rows as the earlier version wrote them: a card under the old KEK, a webhook secret under the old key.
  const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: PAN, exp_month: 6, exp_year: 2042, cvc: '999' } });
  card_id = method.id;
  const { rows } = await t.owner.query<{ merchant_id: string }>(`SELECT merchant_id FROM vault.payment_methods WHERE id = $1`, [card_id]);
  merchant_id = rows[0]?.merchant_id ?? '';
  const legacy = sealCard(PAN, `${merchant_id}/${card_id}`, { id: LEGACY_KEK_ID, key: LEGACY.kek }, randomBytes);
  await t.owner.query(`UPDATE vault.payment_methods SET kek_id = $2, wrapped_key = $3, ciphertext = $4, key_version = NULL WHERE id = $1`, [
    card_id,
    legacy.kek_id,
    legacy.wrapped_key,
    legacy.ciphertext,
  ]);
  const created = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/legacy', enabled_events: ['*'] });
  endpoint = { id: created.id, secret: created.secret ?? '' };
  const legacy_key = webhookSecretKey(idempotencyHashKey(LEGACY.fingerprint_key));
  await t.owner.query(`UPDATE events.webhook_endpoints SET secret_sealed = $2 WHERE id = $1`, [
    endpoint.id,
    sealSecret(new WebhookSecret(endpoint.secret), endpoint.id, legacy_key),
  ]);
}, 90_000);

afterAll(async () => {
  await t?.stop();
  rmSync(data_dir, { recursive: true, force: true });
  rmSync(secrets_dir, { recursive: true, force: true });
});

describe('an install from before the KMS', () => {
  it('moves the vault key out of the data dir on start, unchanged and owner-only, and says so in the log', () => {
    expect(existsSync(join(data_dir, 'vault.key'))).toBe(false);
    const moved = join(secrets_dir, 'vault.key');
    expect(readFileSync(moved, 'utf8')).toBe(MASTER.toString('hex'));
    expect(statSync(moved).mode & 0o077).toBe(0);
    expect(t.logs.join('\n')).toContain('moved the vault key out of the data dir');
    expect(t.logs.join('\n')).not.toContain(MASTER.toString('hex'));
  });

  it('keeps the fingerprints the old key made', async () => {
    expect((await cardRow()).state.card.fingerprint).toBe(cardFingerprint(PAN, merchant_id, LEGACY.fingerprint_key));
  });

  it('still pays with a card sealed under the old key-encryption key', async () => {
    expect((await cardRow()).kek_id).toBe(LEGACY_KEK_ID);
    const intent = await t.stripe.paymentIntents.create({ amount: 900, currency: 'usd', payment_method: card_id, confirm: true });
    expect(intent.status).toBe('succeeded');
  });

  it('keys rotate moves old cards and webhook secrets onto the KMS, then the old master key can go', async () => {
    expect(sealerOnKeyFile().recognizes(await sealedSecret())).toBe(false);
    const before = await cli(['keys', 'status']);
    expect(before.stdout).toContain('cards: before the KMS 1');
    expect(before.stdout).toContain('webhook secrets: before the KMS 1');

    const rotated = await cli(['keys', 'rotate', '--settle-seconds', '0']);
    expect(rotated.code, rotated.stderr).toBe(0);

    expect(await cardRow()).toMatchObject({ kek_id: 'kms:dev', key_version: 2 });
    const sealed = await sealedSecret();
    expect(sealerOnKeyFile().recognizes(sealed)).toBe(true);
    expect(await sealerOnKeyFile().open(sealed, endpoint.id)).toBe(endpoint.secret);
    expect(sealed.toString('latin1')).not.toContain(endpoint.secret);

    // Every purpose decrypts from v2 only, so the key file no longer holds the old master.
    const key_file = readFileSync(join(secrets_dir, 'vault.key'), 'utf8');
    expect(key_file).not.toContain(MASTER.toString('hex'));
    expect(JSON.parse(key_file)).not.toHaveProperty('master');

    const intent = await t.stripe.paymentIntents.create({ amount: 700, currency: 'usd', payment_method: card_id, confirm: true });
    expect(intent.status).toBe('succeeded');
    const again = await t.stripe.paymentMethods.create({ type: 'card', card: { number: PAN, exp_month: 6, exp_year: 2043, cvc: '111' } });
    expect(again.card?.fingerprint).toBe(cardFingerprint(PAN, merchant_id, LEGACY.fingerprint_key));
  });

  it('refuses to rotate a key given in PAYRAIL_VAULT_KEY, saying what to do instead', async () => {
    const key_file = readFileSync(join(secrets_dir, 'vault.key'), 'utf8');
    const refused = await cli(['keys', 'rotate', '--purpose', 'bank_accounts'], { PAYRAIL_VAULT_KEY: key_file });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PAYRAIL_VAULT_KEY cannot be rotated in place');
  });
});

describe('live mode', () => {
  it('refuses to start with the development key', async () => {
    const port = await freePort();
    const env = serverEnv(
      { port, database_url: t.config.database_url ?? '', data_dir, secret_key: 'sk_test_payrailLiveModeProbe000001' },
      { PAYRAIL_SECRETS_DIR: secrets_dir, PAYRAIL_MODE: 'live' },
    );
    const server = await spawnServer(env);
    expect(await exitCodeWithin(server.child, 30_000)).toBe(1);
    expect(server.output()).toContain('could not start: live mode refuses the development key');
  });
});

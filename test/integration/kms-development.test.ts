import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevelopmentKms } from '../../src/services/vault/adapters/development-kms.js';
import { KEY_PURPOSES, KmsError, parseWrapped } from '../../src/services/vault/domain/kms.js';
import { packSealed, unpackSealed } from '../../src/services/vault/app/envelope.js';
import type { KeySettings } from '../../src/services/vault/app/keys.js';
import { openKms } from '../../src/services/vault/app/keys.js';

/** The development KMS over a real key file, and how the vault finds its keys on start. */

let dir: string;
let key_file: string;
const MASTER = randomBytes(32).toString('hex');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-kms-dev-'));
  key_file = join(dir, 'vault.key');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function settings(overrides: Partial<KeySettings> = {}): KeySettings {
  return {
    kms: 'development',
    vault_key: undefined,
    data_dir: join(dir, 'data'),
    secrets_dir: join(dir, 'secrets'),
    transit: undefined,
    live: false,
    ...overrides,
  };
}

describe('wrapped key forms', () => {
  it('reads the KMS and version from vault:v12:… and dev:v1:…, and refuses anything else', () => {
    expect(parseWrapped('vault:v12:AbC+/=')).toEqual({ prefix: 'vault', version: 12 });
    expect(parseWrapped('dev:v1:AAAA')).toEqual({ prefix: 'dev', version: 1 });
    for (const bad of ['', 'vault:v0:AAAA', 'vault:1:AAAA', 'vault:v1:', 'vault:v1:not base64!', 'VAULT:v1:AAAA'])
      expect(() => parseWrapped(bad)).toThrow(KmsError);
  });

  it('packs a sealed value into one column and tells it apart from a value sealed before the KMS', () => {
    const sealed = { wrapped: 'vault:v3:QUJD', ciphertext: randomBytes(40) };
    expect(unpackSealed(packSealed(sealed))).toEqual(sealed);
    expect(unpackSealed(randomBytes(60))).toBeUndefined();
    expect(unpackSealed(Buffer.concat([Buffer.from('PRK1'), Buffer.from([0xff, 0xff]), randomBytes(20)]))).toBeUndefined();
  });
});

describe('DevelopmentKms', () => {
  it('reads an old single-secret key file as version 1 of every purpose, each purpose with its own key', async () => {
    writeFileSync(key_file, MASTER, { mode: 0o600 });
    const kms = new DevelopmentKms({ kind: 'file', path: key_file });
    const data_key = randomBytes(32);
    const wrapped = await kms.wrap('cards', data_key);
    expect(wrapped).toMatch(/^dev:v1:/);
    expect((await kms.unwrap('cards', wrapped)).equals(data_key)).toBe(true);
    await expect(kms.unwrap('webhook_secrets', wrapped)).rejects.toThrow(/failed authentication/);
    expect(kms.legacyMaster()?.toString('hex')).toBe(MASTER);
  });

  it('rotates a purpose: the file gains a version another process sees at once, and the old one opens until retired', async () => {
    writeFileSync(key_file, MASTER, { mode: 0o600 });
    const cli = new DevelopmentKms({ kind: 'file', path: key_file });
    const server = new DevelopmentKms({ kind: 'file', path: key_file });
    const old_wrapped = await server.wrap('cards', Buffer.alloc(32, 1));
    expect((await cli.rotate('cards')).latest_version).toBe(2);
    expect(statSync(key_file).mode & 0o077).toBe(0);
    expect(await server.wrap('cards', Buffer.alloc(32, 2))).toMatch(/^dev:v2:/);
    expect(await server.wrap('webhook_secrets', Buffer.alloc(32, 3))).toMatch(/^dev:v1:/);
    expect((await server.unwrap('cards', old_wrapped)).equals(Buffer.alloc(32, 1))).toBe(true);
    const [moved = ''] = await cli.rewrap('cards', [old_wrapped]);
    expect(moved).toMatch(/^dev:v2:/);

    await cli.retire('cards', 2);
    await expect(server.unwrap('cards', old_wrapped)).rejects.toThrow(/version 1 of the cards key is retired/);
    expect((await server.unwrap('cards', moved)).equals(Buffer.alloc(32, 1))).toBe(true);
    // The master is still version 1 of the purposes not rotated yet.
    expect(JSON.parse(readFileSync(key_file, 'utf8'))).toHaveProperty('master', MASTER);
  });

  it('drops the old master once no purpose decrypts version 1, and never retires the latest version', async () => {
    writeFileSync(key_file, MASTER, { mode: 0o600 });
    const kms = new DevelopmentKms({ kind: 'file', path: key_file });
    for (const purpose of KEY_PURPOSES) {
      await kms.rotate(purpose);
      await expect(kms.retire(purpose, 3)).rejects.toThrow(/cannot retire every version/);
      await kms.retire(purpose, 2);
    }
    const file = readFileSync(key_file, 'utf8');
    expect(file).not.toContain(MASTER);
    expect(kms.legacyMaster()).toBeUndefined();
  });

  it('will not rotate a key given in PAYRAIL_VAULT_KEY', async () => {
    const kms = new DevelopmentKms({ kind: 'env', value: MASTER });
    await expect(kms.rotate('cards')).rejects.toThrow(/PAYRAIL_VAULT_KEY cannot be rotated in place/);
  });

  it('refuses a damaged key file with a message that shows none of it', async () => {
    writeFileSync(key_file, `${MASTER.slice(0, 40)}zz`, { mode: 0o600 });
    const kms = new DevelopmentKms({ kind: 'file', path: key_file });
    const error = await kms.wrap('cards', randomBytes(32)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(KmsError);
    expect(error?.message).not.toContain(MASTER.slice(0, 40));
  });
});

describe('openKms', () => {
  it('creates the development key in the secrets dir, owner-only, never in the data dir', async () => {
    const opened = await openKms(settings(), () => {});
    expect(opened.kms.kind).toBe('development');
    const file = join(dir, 'secrets', 'vault.key');
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'secrets')).mode & 0o077).toBe(0);
  });

  it('moves a key from the data dir, logging it, and refuses when the two places hold different keys', async () => {
    const data_dir = join(dir, 'data');
    const logs: string[] = [];
    // The data dir as an older version left it.
    mkdirSync(data_dir);
    writeFileSync(join(data_dir, 'vault.key'), MASTER, { mode: 0o600 });
    const opened = await openKms(settings(), (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`));
    expect(opened.legacy_master?.toString('hex')).toBe(MASTER);
    expect(logs).toEqual([expect.stringContaining('moved the vault key out of the data dir')]);
    expect(logs[0]).not.toContain(MASTER);

    writeFileSync(join(data_dir, 'vault.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
    await expect(openKms(settings(), () => {})).rejects.toThrow(/two different vault keys/);
  });

  it('refuses the development key in live mode, and Transit without an address and token', async () => {
    await expect(openKms(settings({ live: true }), () => {})).rejects.toThrow(/live mode refuses the development key/);
    await expect(openKms(settings({ kms: 'vault-transit' }), () => {})).rejects.toThrow(/needs VAULT_ADDR and VAULT_TOKEN/);
  });
});

import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readOrCreateSecret } from '../../../platform/secrets-dir.js';
import type { DevelopmentKeySource } from '../adapters/development-kms.js';
import { DevelopmentKms, parseKeyFile } from '../adapters/development-kms.js';
import { TransitKms } from '../adapters/transit-kms.js';
import type { KeyPurpose, KmsKind } from '../domain/kms.js';
import { KmsChain } from './kms-chain.js';

/** How the vault reaches its keys; the composition root fills it from the settings (README). */
export interface KeySettings {
  kms: KmsKind;
  /** PAYRAIL_VAULT_KEY: the development key itself, instead of the key file. */
  vault_key: string | undefined;
  data_dir: string;
  /** Where the development key file lives: never inside the data dir. */
  secrets_dir: string;
  transit: { address: string; token: string; mount: string; key_prefix: string } | undefined;
  /** Live mode refuses the development key. */
  live: boolean;
}

export interface OpenedKms {
  kms: KmsChain;
  /** The master secret of installs from before the KMS, if this one has it (old cards and fingerprints derive from it). */
  legacy_master: Buffer | undefined;
}

export type KeyLog = (message: string, fields: Record<string, string>) => void;

export const KEY_FILE_NAME = 'vault.key';
const MASTER_KEY_BYTES = 32;

/** Transit key names: the prefix and the purpose (`payrail-cards`, `payrail-webhook-secrets`, …). */
export function transitKeyNames(prefix: string): Record<KeyPurpose, string> {
  return {
    cards: `${prefix}cards`,
    webhook_secrets: `${prefix}webhook-secrets`,
    bank_accounts: `${prefix}bank-accounts`,
    connector_credentials: `${prefix}connector-credentials`,
  };
}

export async function openKms(settings: KeySettings, log: KeyLog): Promise<OpenedKms> {
  moveKeyOutOfDataDir(settings, log);
  const key_file = join(settings.secrets_dir, KEY_FILE_NAME);
  if (settings.kms === 'vault-transit') {
    if (!settings.transit) throw new Error('PAYRAIL_KMS=vault-transit needs VAULT_ADDR and VAULT_TOKEN');
    const transit = new TransitKms({ ...settings.transit, key_names: transitKeyNames(settings.transit.key_prefix) });
    await transit.ensureKeys();
    // A development key left from before the move to Transit still opens what it wrapped, until rotated away.
    const previous = developmentSource(settings, key_file, { create: false });
    const development = previous ? new DevelopmentKms(previous) : undefined;
    return { kms: new KmsChain(transit, development), legacy_master: development?.legacyMaster() };
  }
  if (settings.live) {
    throw new Error('live mode refuses the development key: set PAYRAIL_KMS=vault-transit with VAULT_ADDR and VAULT_TOKEN (docs/security.md)');
  }
  const source = developmentSource(settings, key_file, { create: true });
  if (!source) throw new Error('no development key');
  const development = new DevelopmentKms(source);
  return { kms: new KmsChain(development, undefined), legacy_master: development.legacyMaster() };
}

function developmentSource(settings: KeySettings, key_file: string, options: { create: boolean }): DevelopmentKeySource | undefined {
  if (settings.vault_key !== undefined) {
    parseKeyFile(settings.vault_key);
    return { kind: 'env', value: settings.vault_key };
  }
  if (!options.create && !existsSync(key_file)) return undefined;
  // Checked before use: a damaged key file stops the start with a clear message.
  parseKeyFile(readOrCreateSecret(settings.secrets_dir, KEY_FILE_NAME, MASTER_KEY_BYTES));
  return { kind: 'file', path: key_file };
}

/**
 * Earlier versions kept the key in `<data dir>/vault.key`, beside the data it protects. It moves to
 * the secrets dir on start (same content, so everything keeps decrypting), and the move is logged.
 */
function moveKeyOutOfDataDir(settings: KeySettings, log: KeyLog): void {
  const old_file = join(settings.data_dir, KEY_FILE_NAME);
  if (!existsSync(old_file)) return;
  const new_file = join(settings.secrets_dir, KEY_FILE_NAME);
  if (existsSync(new_file)) {
    if (readFileSync(new_file, 'utf8').trim() !== readFileSync(old_file, 'utf8').trim()) {
      throw new Error(`two different vault keys: ${old_file} and ${new_file}; keep the one your data was encrypted with (docs/security.md)`);
    }
    unlinkSync(old_file);
  } else {
    mkdirSync(settings.secrets_dir, { recursive: true, mode: 0o700 });
    try {
      renameSync(old_file, new_file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      copyFileSync(old_file, new_file);
      unlinkSync(old_file);
    }
  }
  log('moved the vault key out of the data dir', { from: old_file, to: new_file });
}

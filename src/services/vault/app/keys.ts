import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deriveKeys } from '../domain/crypto.js';
import type { VaultKeyring } from './vault.js';

const MASTER_KEY_BYTES = 32;

/**
 * The vault's master secret: `PAYRAIL_VAULT_KEY` (64 hex characters) or a file created once under the
 * data dir with owner-only permissions. The key-encryption key and the fingerprint key derive from it.
 */
export function loadVaultKeyring(key_hex: string | undefined, key_file: string): VaultKeyring {
  const master = key_hex !== undefined ? parseHexKey(key_hex) : readOrCreateKeyFile(key_file);
  const { kek, fingerprint_key } = deriveKeys(master);
  const kek_id = `kek_${createHash('sha256').update(kek).digest('hex').slice(0, 12)}`;
  return { active: { id: kek_id, key: kek }, all: new Map([[kek_id, kek]]), fingerprint_key };
}

function parseHexKey(key_hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(key_hex)) throw new Error('PAYRAIL_VAULT_KEY must be 64 hexadecimal characters (32 bytes)');
  return Buffer.from(key_hex, 'hex');
}

function readOrCreateKeyFile(key_file: string): Buffer {
  if (existsSync(key_file)) return parseHexKey(readFileSync(key_file, 'utf8').trim());
  mkdirSync(dirname(key_file), { recursive: true });
  const key = randomBytes(MASTER_KEY_BYTES);
  writeFileSync(key_file, key.toString('hex'), { mode: 0o600, flag: 'wx' });
  return key;
}

import { createHash, createHmac } from 'node:crypto';
import { readOrCreateSecret, secretsDir } from '../../../platform/secrets-dir.js';

/**
 * API keys are stored as HMAC-SHA256 under a server secret kept apart from the database (in the
 * secrets dir, or `PAYRAIL_API_KEY_HASH_SECRET`): a copy of the database alone cannot test guesses.
 * Keys stored before this (unsalted SHA-256) are still accepted, and rehashed on their first use.
 */
export class KeyHasher {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error('the API key hash secret must be at least 32 bytes');
  }

  hash(key: string): string {
    return createHmac('sha256', this.secret).update(key, 'utf8').digest('hex');
  }

  /** The unsalted SHA-256 of keys stored before keyed hashes. */
  legacyHash(key: string): string {
    return createHash('sha256').update(key, 'utf8').digest('hex');
  }
}

const SECRET_FILE = 'api-key-hash.secret';
const SECRET_BYTES = 32;
const HEX_SECRET = /^[0-9a-f]{64,}$/i;

/** Every process of one installation must use the same secret: set the variable, or share the secrets dir. */
export function loadKeyHasher(env: NodeJS.ProcessEnv, data_dir: string): KeyHasher {
  const configured = env.PAYRAIL_API_KEY_HASH_SECRET;
  if (configured !== undefined && configured !== '') {
    if (!HEX_SECRET.test(configured)) throw new Error('PAYRAIL_API_KEY_HASH_SECRET must be at least 64 hex characters (32 bytes)');
    return new KeyHasher(Buffer.from(configured, 'hex'));
  }
  return new KeyHasher(Buffer.from(readOrCreateSecret(secretsDir(env, data_dir), SECRET_FILE, SECRET_BYTES), 'hex'));
}

/**
 * Envelope encryption for card numbers. Each card gets its own data key, wrapped by a key-encryption
 * key (KEK) named by id, so KEKs can rotate without re-encrypting every card at once. Both layers are
 * AES-256-GCM and bound to the caller's associated data (the token id), so a ciphertext copied onto
 * another token fails to open. Randomness is injected so sealing is deterministic in tests.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { assert, AssertionError } from '../../../kernel/assert.js';

export interface Kek {
  id: string;
  key: Buffer;
}

/** Each Buffer packs iv(12) | tag(16) | encrypted bytes. */
export interface SealedCard {
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

export interface VaultKeys {
  kek: Buffer;
  fingerprint_key: Buffer;
}

const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FINGERPRINT_CHARS = 16;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// Fixed salt: the master secret is already uniformly random, so HKDF needs no per-deployment salt.
const HKDF_SALT = Buffer.from('payrail-vault');
const KEK_INFO = 'payrail vault kek v1';
const FINGERPRINT_INFO = 'payrail vault fingerprint v1';

export function sealCard(pan: string, aad: string, kek: Kek, randomBytes: (n: number) => Buffer): SealedCard {
  assert(kek.key.length === KEY_BYTES, `kek ${kek.id} must be ${KEY_BYTES} bytes`);
  const data_key = randomBytes(KEY_BYTES);
  assert(data_key.length === KEY_BYTES, 'randomBytes returned the wrong length');
  try {
    return {
      kek_id: kek.id,
      wrapped_key: aeadSeal(kek.key, data_key, aad, randomBytes),
      ciphertext: aeadSeal(data_key, Buffer.from(pan, 'utf8'), aad, randomBytes),
    };
  } finally {
    data_key.fill(0);
  }
}

/** Throws AssertionError on an unknown KEK or any tampering: stored ciphertext never fails honestly. */
export function openCard(sealed: SealedCard, aad: string, keks: ReadonlyMap<string, Buffer>): string {
  const kek = keks.get(sealed.kek_id);
  assert(kek !== undefined, `unknown kek ${sealed.kek_id}`);
  const data_key = aeadOpen(kek, sealed.wrapped_key, aad);
  try {
    return aeadOpen(data_key, sealed.ciphertext, aad).toString('utf8');
  } finally {
    data_key.fill(0);
  }
}

/**
 * Stripe's `card.fingerprint`: lets a merchant spot the same card twice without seeing it. Keyed so
 * nobody without the vault key can confirm a guessed number (the PAN space is small enough to brute
 * force a plain hash), and scoped per merchant so fingerprints cannot correlate customers across them.
 */
export function cardFingerprint(pan: string, merchant_id: string, fingerprint_key: Buffer): string {
  // The PAN is all digits and comes last, so the separator keeps every (merchant, pan) pair distinct.
  const digest = createHmac('sha256', fingerprint_key).update(`${merchant_id}\u0000${pan}`).digest();
  let value = BigInt(`0x${digest.toString('hex')}`);
  let fingerprint = '';
  for (let i = 0; i < FINGERPRINT_CHARS; i++) {
    fingerprint += BASE62[Number(value % 62n)];
    value /= 62n;
  }
  return fingerprint;
}

/** One master secret file yields independent keys, so a leaked fingerprint key cannot decrypt cards. */
export function deriveKeys(master: Buffer): VaultKeys {
  assert(master.length >= KEY_BYTES, `master secret must be at least ${KEY_BYTES} bytes`);
  return {
    kek: Buffer.from(hkdfSync('sha256', master, HKDF_SALT, KEK_INFO, KEY_BYTES)),
    fingerprint_key: Buffer.from(hkdfSync('sha256', master, HKDF_SALT, FINGERPRINT_INFO, KEY_BYTES)),
  };
}

/** AES-256-GCM bound to `aad`; packs iv | tag | encrypted bytes. */
export function aeadSeal(key: Buffer, plaintext: Buffer, aad: string, randomBytes: (n: number) => Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  assert(iv.length === IV_BYTES, 'randomBytes returned the wrong length');
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}

export function aeadOpen(key: Buffer, packed: Buffer, aad: string): Buffer {
  assert(key.length === KEY_BYTES, `key must be ${KEY_BYTES} bytes`);
  assert(packed.length >= IV_BYTES + TAG_BYTES, 'sealed value is truncated');
  const iv = packed.subarray(0, IV_BYTES);
  const tag = packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new AssertionError('sealed value failed authentication');
  }
}

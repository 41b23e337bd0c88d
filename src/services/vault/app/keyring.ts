import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { deriveKeys } from '../domain/crypto.js';
import type { KeyPurpose } from '../domain/kms.js';
import { KmsError, KmsUnavailableError, parseWrapped } from '../domain/kms.js';
import { Envelopes } from './envelope.js';
import type { OpenedKms } from './keys.js';

/** What the vault encrypts and fingerprints with: the KMS for data keys, and keys it keeps wrapped. */
export interface VaultKeyring {
  envelopes: Envelopes;
  /** Keyed HMAC of card numbers (Stripe's `card.fingerprint`); stable across rotations of the card key. */
  fingerprint_key: Buffer;
  /** Opens cards sealed before the KMS (`kek_…` ids) until a rotation rewraps them; empty when there are none. */
  legacy_keks: ReadonlyMap<string, Buffer>;
}

export const FINGERPRINT_KEY_NAME = 'card_fingerprints';
const KEY_BYTES = 32;

/**
 * The keyring on an open database. The fingerprint key is made once and kept wrapped in
 * `vault.data_keys`; on an install from before the KMS it is the one derived from the old master
 * secret, so fingerprints (and the keys derived from it) do not change.
 */
export async function loadVaultKeyring(db: Db, opened: OpenedKms, now_ms: number): Promise<VaultKeyring> {
  const legacy = opened.legacy_master ? deriveKeys(opened.legacy_master) : undefined;
  const envelopes = new Envelopes(opened.kms);
  const fingerprint_key = await storedKey(db, envelopes, { name: FINGERPRINT_KEY_NAME, purpose: 'cards', now_ms }, () =>
    legacy ? Buffer.from(legacy.fingerprint_key) : randomBytes(KEY_BYTES),
  );
  const legacy_keks = new Map<string, Buffer>(legacy ? [[legacyKekId(legacy.kek), legacy.kek]] : []);
  return { envelopes, fingerprint_key, legacy_keks };
}

/** The id earlier versions stored with each card: derived from the key-encryption key, so it names it without revealing it. */
function legacyKekId(kek: Buffer): string {
  return `kek_${createHash('sha256').update(kek).digest('hex').slice(0, 12)}`;
}

async function storedKey(db: Db, envelopes: Envelopes, key: { name: string; purpose: KeyPurpose; now_ms: number }, initial: () => Buffer): Promise<Buffer> {
  const read = async () => (await run<{ wrapped: string }>(db, sql`SELECT wrapped FROM vault.data_keys WHERE name = ${key.name}`)).rows[0]?.wrapped;
  let wrapped = await read();
  if (wrapped === undefined) {
    const value = initial();
    const made = await envelopes.kms.wrap(key.purpose, value);
    value.fill(0);
    // Two processes starting at once: the first insert wins and both use its key.
    await run(
      db,
      sql`INSERT INTO vault.data_keys (name, purpose, wrapped, key_version, created_ms)
        VALUES (${key.name}, ${key.purpose}, ${made}, ${parseWrapped(made).version}, ${key.now_ms}) ON CONFLICT (name) DO NOTHING`,
    );
    wrapped = await read();
  }
  if (wrapped === undefined) throw new Error(`vault.data_keys lost ${key.name}`);
  try {
    return await envelopes.kms.unwrap(key.purpose, wrapped);
  } catch (error) {
    if (!(error instanceof KmsError) || error instanceof KmsUnavailableError) throw error;
    // The database was sealed under a key this process does not have: say so, instead of a crypto error.
    throw new KmsError(
      `the configured ${envelopes.kms.kind} key cannot open the vault's keys in this database (${error.message}); ` +
        'restore the key the data was sealed with (docs/security.md, "A key is lost")',
    );
  }
}

/**
 * The key management port. Payrail encrypts each secret (a card number, a webhook signing secret, a
 * bank account number) under a fresh data key, and asks the KMS to wrap that data key under the
 * purpose's key-encryption key. The KMS holds the key-encryption keys and their versions; Payrail
 * stores only wrapped data keys, so a copy of the database and data dir decrypts nothing.
 */

/** One key-encryption key per purpose, so a key for one kind of secret never opens another kind. */
export const KEY_PURPOSES = ['cards', 'webhook_secrets', 'bank_accounts', 'connector_credentials'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

export function isKeyPurpose(value: string): value is KeyPurpose {
  return (KEY_PURPOSES as readonly string[]).includes(value);
}

export type KmsKind = 'development' | 'vault-transit';

export interface KeyStatus {
  purpose: KeyPurpose;
  /** Where the key lives: the Transit key name, or the development key's source. */
  key_name: string;
  latest_version: number;
  /** Wrapped keys below this version no longer decrypt (retired). */
  min_decryption_version: number;
}

export interface Kms {
  readonly kind: KmsKind;
  /** Wraps a data key under the latest version of the purpose's key. */
  wrap(purpose: KeyPurpose, data_key: Buffer): Promise<string>;
  unwrap(purpose: KeyPurpose, wrapped: string): Promise<Buffer>;
  /** Wraps each data key again under the latest version, without showing it to the caller. */
  rewrap(purpose: KeyPurpose, wrapped: readonly string[]): Promise<string[]>;
  /** Adds a new latest version; older versions still decrypt until retired. */
  rotate(purpose: KeyPurpose): Promise<KeyStatus>;
  /** Versions below `min_version` stop decrypting. */
  retire(purpose: KeyPurpose, min_version: number): Promise<KeyStatus>;
  status(purpose: KeyPurpose): Promise<KeyStatus>;
}

/** A KMS refused or failed an operation: its message names the key, never key material. */
export class KmsError extends Error {
  override name = 'KmsError';
}

/** The KMS could not be reached or is not serving (down, sealed, timing out): worth retrying shortly. */
export class KmsUnavailableError extends KmsError {
  override name = 'KmsUnavailableError';
}

const WRAPPED_FORM = /^([a-z]+):v([1-9][0-9]{0,8}):[A-Za-z0-9+/=_-]+$/;

/** `vault:v3:…` (Transit) or `dev:v3:…` (development key): which KMS wrapped it, under which version. */
export function parseWrapped(wrapped: string): { prefix: string; version: number } {
  const match = WRAPPED_FORM.exec(wrapped);
  if (!match?.[1] || !match[2]) throw new KmsError('wrapped key is not in the form <prefix>:v<version>:<base64>');
  return { prefix: match[1], version: Number(match[2]) };
}

/** The prefix each KMS puts on what it wraps. */
export const WRAPPED_PREFIX: Record<KmsKind, string> = { development: 'dev', 'vault-transit': 'vault' };

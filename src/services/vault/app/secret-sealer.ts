import type { KeyPurpose } from '../domain/kms.js';
import { parseWrapped } from '../domain/kms.js';
import type { SecretPurpose, VaultKeyPort } from './key-port.js';
import type { Envelopes } from './envelope.js';
import { packSealed, unpackSealed } from './envelope.js';

/**
 * Secrets other services store (webhook signing secrets, bank account numbers), sealed under their
 * purpose's key through the KMS. The owning service keeps the sealed bytes in its own table; the
 * vault never reads that table, it hands out this port.
 */
export interface SecretSealer {
  seal(plaintext: string, context: string): Promise<Buffer>;
  open(sealed: Buffer, context: string): Promise<string>;
  /** False for a value sealed some other way (before the KMS): its owner opens that itself. */
  recognizes(sealed: Buffer): boolean;
  /** The key version `sealed` is wrapped under; 0 when it is not under the current KMS's key at all. */
  versionOf(sealed: Buffer): number;
  /** Each value wrapped again under the latest key version (with Transit, the plaintext never shows). */
  rewrap(sealed: readonly Buffer[]): Promise<Buffer[]>;
}

export function secretSealer(envelopes: Envelopes, purpose: KeyPurpose): SecretSealer {
  const unpack = (sealed: Buffer) => {
    const unpacked = unpackSealed(sealed);
    if (!unpacked) throw new Error(`not a sealed ${purpose} value`);
    return unpacked;
  };
  return {
    seal: async (plaintext, context) => packSealed(await envelopes.seal(purpose, Buffer.from(plaintext, 'utf8'), context)),
    open: async (sealed, context) => (await envelopes.open(purpose, unpack(sealed), context)).toString('utf8'),
    recognizes: (sealed) => unpackSealed(sealed) !== undefined,
    versionOf: (sealed) => {
      const unpacked = unpackSealed(sealed);
      return unpacked ? envelopes.kms.versionOf(unpacked.wrapped) : 0;
    },
    rewrap: async (sealed) => {
      const unpacked = sealed.map(unpack);
      const wrapped = await envelopes.kms.rewrap(
        purpose,
        unpacked.map((item) => item.wrapped),
      );
      return unpacked.map((item, i) => packSealed({ wrapped: wrapped[i] ?? '', ciphertext: item.ciphertext }));
    },
  };
}

/**
 * The same port through the vault's key port (a vault in another process). Sealed values are in the
 * same packed format, so either binding opens what the other sealed. Rotation runs where the keys
 * are (`payrail keys rotate`), so `versionOf` reads the version the value names without asking.
 */
export function portSealer(keys: VaultKeyPort, purpose: SecretPurpose): SecretSealer {
  return {
    seal: async (plaintext, context) => Buffer.from((await keys.seal_secret({ purpose, plaintext, context })).sealed, 'base64'),
    open: async (sealed, context) => (await keys.open_secret({ purpose, sealed: sealed.toString('base64'), context })).plaintext,
    recognizes: (sealed) => unpackSealed(sealed) !== undefined,
    versionOf: (sealed) => {
      const unpacked = unpackSealed(sealed);
      return unpacked ? parseWrapped(unpacked.wrapped).version : 0;
    },
    rewrap: async (sealed) =>
      (await keys.rewrap_secrets({ purpose, sealed: sealed.map((item) => item.toString('base64')) })).sealed.map((item) => Buffer.from(item, 'base64')),
  };
}

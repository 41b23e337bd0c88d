import { randomBytes } from 'node:crypto';
import { PayrailError } from '../../../kernel/errors.js';
import type { KeyPurpose } from '../domain/kms.js';
import { KmsUnavailableError } from '../domain/kms.js';
import { aeadOpen, aeadSeal } from '../domain/crypto.js';
import type { KmsChain } from './kms-chain.js';

/**
 * Envelope encryption: each value is sealed (AES-256-GCM, bound to `aad`) under a fresh data key that
 * the KMS wraps under the purpose's key. The plaintext data key lives only for the call.
 */
export interface Sealed {
  wrapped: string;
  ciphertext: Buffer;
}

const DATA_KEY_BYTES = 32;
/** Marks a sealed value packed into one column by `packSealed` (format version 1). */
const PACKED_MAGIC = Buffer.from('PRK1');
const LENGTH_BYTES = 2;

export class Envelopes {
  constructor(
    readonly kms: KmsChain,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  async seal(purpose: KeyPurpose, plaintext: Buffer, aad: string): Promise<Sealed> {
    const data_key = this.random(DATA_KEY_BYTES);
    try {
      const ciphertext = aeadSeal(data_key, plaintext, aad, this.random);
      return { wrapped: await available(this.kms.wrap(purpose, data_key)), ciphertext };
    } finally {
      data_key.fill(0);
    }
  }

  async open(purpose: KeyPurpose, sealed: Sealed, aad: string): Promise<Buffer> {
    const data_key = await available(this.kms.unwrap(purpose, sealed.wrapped));
    try {
      return aeadOpen(data_key, sealed.ciphertext, aad);
    } finally {
      data_key.fill(0);
    }
  }
}

/** Said when the KMS cannot be reached; it names no address, key or token. */
const KMS_UNAVAILABLE_MESSAGE =
  'Payrail cannot reach its key management service right now. Retry the request shortly; requests with the same Idempotency-Key are safe to retry.';

/** A KMS that is down is a retryable 503 for the client, as a lost database is; any other KMS failure stays a bug to log. */
async function available<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    // The cause (which KMS call, what it answered) stays for the log; the client gets the generic message.
    if (error instanceof KmsUnavailableError)
      throw Object.assign(new PayrailError('service_unavailable', { message: KMS_UNAVAILABLE_MESSAGE }), { cause: error });
    throw error;
  }
}

/** One buffer for a column of another service: magic | wrapped length (u16) | wrapped | ciphertext. */
export function packSealed(sealed: Sealed): Buffer {
  const wrapped = Buffer.from(sealed.wrapped, 'utf8');
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([PACKED_MAGIC, length, wrapped, sealed.ciphertext]);
}

/** Undefined when `packed` is not in `packSealed`'s format (a value sealed before the KMS). */
export function unpackSealed(packed: Buffer): Sealed | undefined {
  const header = PACKED_MAGIC.length + LENGTH_BYTES;
  if (packed.length <= header || !packed.subarray(0, PACKED_MAGIC.length).equals(PACKED_MAGIC)) return undefined;
  const length = packed.readUInt16BE(PACKED_MAGIC.length);
  if (packed.length <= header + length) return undefined;
  const wrapped = packed.subarray(header, header + length).toString('utf8');
  if (!/^[a-z]+:v[0-9]+:/.test(wrapped)) return undefined;
  return { wrapped, ciphertext: packed.subarray(header + length) };
}

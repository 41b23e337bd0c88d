import type { KeyPurpose, KeyStatus, Kms } from '../domain/kms.js';
import { KmsError, WRAPPED_PREFIX, parseWrapped } from '../domain/kms.js';

/**
 * The configured KMS, plus the one used before it (the development key, when an install moves to
 * Vault Transit): keys wrapped by the previous KMS still open, and a rotation rewraps them under the
 * current one. Everything new is wrapped by the current KMS only.
 */
export class KmsChain implements Kms {
  readonly kind: Kms['kind'];

  constructor(
    private readonly current: Kms,
    private readonly previous: Kms | undefined,
  ) {
    this.kind = current.kind;
  }

  /** The version of `wrapped` under the current KMS; 0 when another KMS wrapped it (it must move). */
  versionOf(wrapped: string): number {
    const { prefix, version } = parseWrapped(wrapped);
    return prefix === WRAPPED_PREFIX[this.current.kind] ? version : 0;
  }

  wrap(purpose: KeyPurpose, data_key: Buffer): Promise<string> {
    return this.current.wrap(purpose, data_key);
  }

  unwrap(purpose: KeyPurpose, wrapped: string): Promise<Buffer> {
    return this.ownerOf(wrapped).unwrap(purpose, wrapped);
  }

  async rewrap(purpose: KeyPurpose, wrapped: readonly string[]): Promise<string[]> {
    const out: string[] = [...wrapped];
    const own = wrapped.flatMap((item, index) => (this.versionOf(item) > 0 ? [index] : []));
    const rewrapped = await this.current.rewrap(
      purpose,
      own.map((index) => wrapped[index] ?? ''),
    );
    own.forEach((index, i) => (out[index] = rewrapped[i] ?? ''));
    for (const [index, item] of wrapped.entries()) {
      if (this.versionOf(item) > 0) continue;
      const data_key = await this.ownerOf(item).unwrap(purpose, item);
      out[index] = await this.current.wrap(purpose, data_key);
      data_key.fill(0);
    }
    return out;
  }

  rotate(purpose: KeyPurpose): Promise<KeyStatus> {
    return this.current.rotate(purpose);
  }

  retire(purpose: KeyPurpose, min_version: number): Promise<KeyStatus> {
    return this.current.retire(purpose, min_version);
  }

  status(purpose: KeyPurpose): Promise<KeyStatus> {
    return this.current.status(purpose);
  }

  private ownerOf(wrapped: string): Kms {
    const { prefix } = parseWrapped(wrapped);
    if (prefix === WRAPPED_PREFIX[this.current.kind]) return this.current;
    if (this.previous && prefix === WRAPPED_PREFIX[this.previous.kind]) return this.previous;
    throw new KmsError(`no configured KMS opens ${prefix}: wrapped keys`);
  }
}

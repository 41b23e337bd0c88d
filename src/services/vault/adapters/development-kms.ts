import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { KeyPurpose, KeyStatus, Kms } from '../domain/kms.js';
import { KEY_PURPOSES, KmsError, parseWrapped } from '../domain/kms.js';

/**
 * The development KMS: key-encryption keys derived from secrets in a file outside the data dir (or in
 * `PAYRAIL_VAULT_KEY`), wrapping in process. Good for a laptop and CI; live mode refuses it, because
 * whoever can read the file and the database can decrypt everything.
 *
 * The file is either one 64-hex-character master secret (what earlier versions kept in
 * `<data dir>/vault.key`: version 1 of every purpose) or, once a key has been rotated, JSON:
 * `{"master": hex?, "purposes": {"cards": {"min_decryption_version": 2, "versions": {"2": hex}}}}`.
 * Every operation checks whether the file changed, so a rotation by `payrail keys rotate` reaches a
 * running server at its next wrap.
 */

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'dev';
const HKDF_SALT = Buffer.from('payrail-kms');
const MASTER_FORM = /^[0-9a-fA-F]{64}$/;

interface PurposeVersions {
  min_decryption_version: number;
  versions: Record<string, string>;
}

export interface DevelopmentKeyFile {
  master?: string;
  purposes: Partial<Record<KeyPurpose, PurposeVersions>>;
}

export type DevelopmentKeySource = { kind: 'env'; value: string } | { kind: 'file'; path: string };

export class DevelopmentKms implements Kms {
  readonly kind = 'development';
  /** The parsed file and the keys derived from it, until the file changes (`stamp`). */
  private cached: { stamp: string; keys: DevelopmentKeyFile; derived: Map<string, Buffer> } | undefined;

  constructor(private readonly source: DevelopmentKeySource) {}

  /** The master secret older versions used directly (their key-encryption and fingerprint keys derive from it). */
  legacyMaster(): Buffer | undefined {
    const master = this.keys().master;
    return master === undefined ? undefined : Buffer.from(master, 'hex');
  }

  // async: a missing or retired key rejects, as the port promises, rather than throwing synchronously.
  async wrap(purpose: KeyPurpose, data_key: Buffer): Promise<string> {
    const version = this.latest(purpose);
    return seal(this.key(purpose, version), purpose, version, data_key);
  }

  async unwrap(purpose: KeyPurpose, wrapped: string): Promise<Buffer> {
    const { prefix, version } = parseWrapped(wrapped);
    if (prefix !== PREFIX) throw new KmsError(`a ${prefix}: wrapped key is not the development KMS's`);
    return open(this.key(purpose, version), purpose, version, wrapped);
  }

  async rewrap(purpose: KeyPurpose, wrapped: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const item of wrapped) {
      const data_key = await this.unwrap(purpose, item);
      out.push(await this.wrap(purpose, data_key));
      data_key.fill(0);
    }
    return out;
  }

  async rotate(purpose: KeyPurpose): Promise<KeyStatus> {
    const keys = this.writableKeys();
    const next = this.latest(purpose) + 1;
    const current = keys.purposes[purpose] ?? { min_decryption_version: 1, versions: {} };
    keys.purposes[purpose] = { ...current, versions: { ...current.versions, [next]: randomBytes(KEY_BYTES).toString('hex') } };
    this.save(keys);
    return this.status(purpose);
  }

  async retire(purpose: KeyPurpose, min_version: number): Promise<KeyStatus> {
    const keys = this.writableKeys();
    const current = keys.purposes[purpose] ?? { min_decryption_version: 1, versions: {} };
    if (min_version > this.latest(purpose)) throw new KmsError(`cannot retire every version of the ${purpose} key`);
    const versions = Object.fromEntries(Object.entries(current.versions).filter(([version]) => Number(version) >= min_version));
    keys.purposes[purpose] = { min_decryption_version: Math.max(min_version, current.min_decryption_version), versions };
    // The master is version 1 of every purpose: it goes once no purpose decrypts version 1.
    if (KEY_PURPOSES.every((p) => (keys.purposes[p]?.min_decryption_version ?? 1) > 1)) delete keys.master;
    this.save(keys);
    return this.status(purpose);
  }

  async status(purpose: KeyPurpose): Promise<KeyStatus> {
    return {
      purpose,
      key_name: this.source.kind === 'env' ? 'PAYRAIL_VAULT_KEY' : this.source.path,
      latest_version: this.latest(purpose),
      min_decryption_version: this.keys().purposes[purpose]?.min_decryption_version ?? 1,
    };
  }

  private latest(purpose: KeyPurpose): number {
    const keys = this.keys();
    const versions = Object.keys(keys.purposes[purpose]?.versions ?? {}).map(Number);
    const latest = Math.max(keys.master === undefined ? 0 : 1, ...versions);
    if (latest === 0) throw new KmsError(`the development key file has no ${purpose} key`);
    return latest;
  }

  private key(purpose: KeyPurpose, version: number): Buffer {
    const keys = this.keys();
    if (version < (keys.purposes[purpose]?.min_decryption_version ?? 1)) throw new KmsError(`version ${version} of the ${purpose} key is retired`);
    const derived = this.cached?.derived;
    const cached = derived?.get(`${purpose}/${version}`);
    if (cached) return cached;
    const secret = version === 1 ? keys.master : keys.purposes[purpose]?.versions[version];
    if (secret === undefined) throw new KmsError(`the development key has no version ${version} for ${purpose}`);
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'hex'), HKDF_SALT, `payrail kms ${purpose}`, KEY_BYTES));
    derived?.set(`${purpose}/${version}`, key);
    return key;
  }

  /**
   * Checked on every use: a rotation or retirement takes effect at once in every process. Saving
   * renames a new file into place, so a new inode (or size, or time) says the file changed.
   */
  private keys(): DevelopmentKeyFile {
    const stamp = this.stamp();
    if (this.cached?.stamp === stamp) return this.cached.keys;
    const keys = parseKeyFile(this.source.kind === 'env' ? this.source.value : readFileSync(this.source.path, 'utf8'));
    this.cached = { stamp, keys, derived: new Map() };
    return keys;
  }

  private stamp(): string {
    if (this.source.kind === 'env') return 'env';
    const stat = statSync(this.source.path, { bigint: true });
    return `${stat.ino}/${stat.size}/${stat.mtimeNs}/${stat.ctimeNs}`;
  }

  private writableKeys(): DevelopmentKeyFile {
    if (this.source.kind === 'env') {
      throw new KmsError('PAYRAIL_VAULT_KEY cannot be rotated in place: keep the key in a file (PAYRAIL_SECRETS_DIR) or use PAYRAIL_KMS=vault-transit');
    }
    return structuredClone(this.keys());
  }

  /** Written beside the old file and renamed over it, so a reader never sees half a key file. */
  private save(keys: DevelopmentKeyFile): void {
    if (this.source.kind === 'env') throw new KmsError('PAYRAIL_VAULT_KEY is read-only');
    const temporary = `${this.source.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.source.path);
  }
}

export function parseKeyFile(text: string): DevelopmentKeyFile {
  const trimmed = text.trim();
  if (MASTER_FORM.test(trimmed)) return { master: trimmed.toLowerCase(), purposes: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new KmsError('the development vault key must be 64 hexadecimal characters (32 bytes) or a Payrail key file');
  }
  const keys = parsed as DevelopmentKeyFile;
  if (typeof keys !== 'object' || keys === null || typeof keys.purposes !== 'object') throw new KmsError('the development key file is malformed');
  return keys;
}

function seal(key: Buffer, purpose: KeyPurpose, version: number, data_key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(`payrail ${purpose} v${version}`));
  const encrypted = Buffer.concat([cipher.update(data_key), cipher.final()]);
  return `${PREFIX}:v${version}:${Buffer.concat([iv, cipher.getAuthTag(), encrypted]).toString('base64')}`;
}

function open(key: Buffer, purpose: KeyPurpose, version: number, wrapped: string): Buffer {
  const packed = Buffer.from(wrapped.slice(wrapped.indexOf(':', PREFIX.length + 1) + 1), 'base64');
  if (packed.length <= IV_BYTES + TAG_BYTES) throw new KmsError('wrapped key is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, packed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`payrail ${purpose} v${version}`));
  decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new KmsError(`a ${purpose} wrapped key failed authentication`);
  }
}

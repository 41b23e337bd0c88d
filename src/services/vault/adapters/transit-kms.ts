import type { KeyPurpose, KeyStatus, Kms } from '../domain/kms.js';
import { KEY_PURPOSES, KmsError, KmsUnavailableError, parseWrapped } from '../domain/kms.js';

/**
 * HashiCorp Vault's Transit secrets engine as Payrail's KMS, over its HTTP API
 * (https://developer.hashicorp.com/vault/api-docs/secret/transit): data keys are wrapped by
 * `encrypt/:name`, opened by `decrypt/:name`, moved to the latest key version by `rewrap/:name`
 * (batched), and key versions are managed with `keys/:name/rotate` and `keys/:name/config`
 * (`min_decryption_version`). The key-encryption keys never leave Vault.
 */

export interface TransitSettings {
  /** VAULT_ADDR, e.g. https://vault.internal:8200 */
  address: string;
  /** VAULT_TOKEN: sent as X-Vault-Token, never logged. */
  token: string;
  /** Where the Transit engine is mounted (default `transit`). */
  mount: string;
  /** The Transit key of each purpose. */
  key_names: Record<KeyPurpose, string>;
}

/** A Transit call that takes longer fails (the caller's request gets a 5xx, never a hang). */
const TRANSIT_TIMEOUT_MS = 5_000;
const PREFIX = 'vault';

interface TransitKey {
  keys: Record<string, unknown>;
  latest_version?: number;
  min_decryption_version: number;
}

export class TransitKms implements Kms {
  readonly kind = 'vault-transit';

  constructor(private readonly settings: TransitSettings) {}

  /** Creates any purpose's key that does not exist yet (aes256-gcm96, Transit's default). */
  async ensureKeys(): Promise<void> {
    for (const purpose of KEY_PURPOSES) {
      const name = this.settings.key_names[purpose];
      const existing = await this.call('GET', `keys/${name}`, undefined, { missing_ok: true });
      if (existing === undefined) await this.call('POST', `keys/${name}`, { type: 'aes256-gcm96' });
    }
  }

  async wrap(purpose: KeyPurpose, data_key: Buffer): Promise<string> {
    const data = await this.call('POST', `encrypt/${this.name(purpose)}`, { plaintext: data_key.toString('base64') });
    return checkedCiphertext(data?.ciphertext);
  }

  async unwrap(purpose: KeyPurpose, wrapped: string): Promise<Buffer> {
    if (parseWrapped(wrapped).prefix !== PREFIX) throw new KmsError('this wrapped key was not made by Vault Transit');
    const data = await this.call('POST', `decrypt/${this.name(purpose)}`, { ciphertext: wrapped });
    if (typeof data?.plaintext !== 'string') throw new KmsError('Vault Transit answered decrypt without a plaintext');
    return Buffer.from(data.plaintext, 'base64');
  }

  async rewrap(purpose: KeyPurpose, wrapped: readonly string[]): Promise<string[]> {
    if (wrapped.length === 0) return [];
    const data = await this.call('POST', `rewrap/${this.name(purpose)}`, { batch_input: wrapped.map((ciphertext) => ({ ciphertext })) });
    const results: unknown = data?.batch_results;
    if (!Array.isArray(results) || results.length !== wrapped.length) throw new KmsError('Vault Transit answered rewrap with the wrong number of results');
    return (results as Array<{ ciphertext?: unknown; error?: unknown }>).map((result) => {
      if (typeof result.error === 'string' && result.error !== '') throw new KmsError(`Vault Transit could not rewrap a ${purpose} key: ${result.error}`);
      return checkedCiphertext(result.ciphertext);
    });
  }

  async rotate(purpose: KeyPurpose): Promise<KeyStatus> {
    await this.call('POST', `keys/${this.name(purpose)}/rotate`, {});
    return this.status(purpose);
  }

  async retire(purpose: KeyPurpose, min_version: number): Promise<KeyStatus> {
    await this.call('POST', `keys/${this.name(purpose)}/config`, { min_decryption_version: min_version });
    return this.status(purpose);
  }

  async status(purpose: KeyPurpose): Promise<KeyStatus> {
    const key = (await this.call('GET', `keys/${this.name(purpose)}`)) as TransitKey | undefined;
    if (!key || typeof key.keys !== 'object') throw new KmsError(`Vault Transit has no key ${this.name(purpose)}`);
    const latest = key.latest_version ?? Math.max(...Object.keys(key.keys).map(Number));
    return { purpose, key_name: this.name(purpose), latest_version: latest, min_decryption_version: key.min_decryption_version };
  }

  private name(purpose: KeyPurpose): string {
    return this.settings.key_names[purpose];
  }

  /** One Transit request; its `data`, or undefined for a 404 the caller expects. Errors name the path, never the token. */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    options: { missing_ok?: boolean } = {},
  ): Promise<Record<string, unknown> | undefined> {
    const url = `${this.settings.address.replace(/\/+$/, '')}/v1/${this.settings.mount}/${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { 'X-Vault-Token': this.settings.token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TRANSIT_TIMEOUT_MS),
      });
    } catch (error) {
      throw new KmsUnavailableError(`Vault Transit is unreachable (${method} ${path}): ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.status === 404 && options.missing_ok) return undefined;
    // 5xx: Vault is sealed, in standby without a leader, or failing; a later retry may succeed.
    if (response.status >= 500) throw new KmsUnavailableError(`Vault Transit is not serving ${method} ${path} (${response.status}): ${vaultErrors(text)}`);
    if (!response.ok) throw new KmsError(`Vault Transit refused ${method} ${path} (${response.status}): ${vaultErrors(text)}`);
    if (response.status === 204 || text === '') return {};
    return (JSON.parse(text) as { data?: Record<string, unknown> }).data ?? {};
  }
}

function checkedCiphertext(value: unknown): string {
  if (typeof value !== 'string' || parseWrapped(value).prefix !== PREFIX) throw new KmsError('Vault Transit answered without a vault:v… ciphertext');
  return value;
}

/** Vault's error body is `{"errors": ["…"]}`. */
function vaultErrors(text: string): string {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return errors.map(String).join('; ');
  } catch {
    // not JSON: fall through to a generic description
  }
  return 'no error message';
}

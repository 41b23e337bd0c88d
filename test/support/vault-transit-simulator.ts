import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * A stand-in for HashiCorp Vault's Transit secrets engine, which cannot run here. It follows the
 * published HTTP API (https://developer.hashicorp.com/vault/api-docs/secret/transit): `X-Vault-Token`
 * authentication (403 `permission denied`), keys with versions (`keys/:name`, `rotate`, `config` with
 * `min_decryption_version`), `encrypt`, `decrypt` and `rewrap` with single values or `batch_input`,
 * `vault:v<N>:` ciphertexts, answers under `data`, and errors as `{"errors": [...]}`. It keeps keys in
 * memory, for one test file.
 */

interface TransitKey {
  versions: Map<number, { key: Buffer; created_s: number }>;
  min_decryption_version: number;
}

type Item = Record<string, unknown>;

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface TransitSimulator {
  address: string;
  token: string;
  /** Every request, method and path, in order (tests look for what Payrail asked). */
  requests: Array<{ method: string; path: string }>;
  latestVersion(name: string): number | undefined;
  /** A sealed Vault answers every request 503 `Vault is sealed` until unsealed. */
  seal(): void;
  unseal(): void;
  close(): Promise<void>;
}

class TransitError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startTransitSimulator(mount = 'transit'): Promise<TransitSimulator> {
  const token = `hvs.${randomBytes(18).toString('base64url')}`;
  const keys = new Map<string, TransitKey>();
  const requests: TransitSimulator['requests'] = [];
  let sealed = false;
  const app: FastifyInstance = Fastify();

  app.addHook('onRequest', async (request, reply) => {
    requests.push({ method: request.method, path: request.url });
    if (sealed) return reply.code(503).send({ errors: ['Vault is sealed'] });
    if (request.headers['x-vault-token'] !== token) return reply.code(403).send({ errors: ['permission denied'] });
  });
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof TransitError) return reply.code(error.status).send({ errors: [error.message] });
    return reply.code(400).send({ errors: [error instanceof Error ? error.message : 'invalid request'] });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ errors: [] }));

  const base = `/v1/${mount}`;
  const body = (request: { body: unknown }): Item => (request.body && typeof request.body === 'object' ? (request.body as Item) : {});
  const existing = (name: string): TransitKey => {
    const key = keys.get(name);
    if (!key) throw new TransitError(400, 'encryption key not found');
    return key;
  };
  const create = (name: string): TransitKey => {
    const key = { versions: new Map([[1, { key: randomBytes(32), created_s: Math.floor(Date.now() / 1000) }]]), min_decryption_version: 1 };
    keys.set(name, key);
    return key;
  };
  const noContent = (reply: FastifyReply) => reply.code(204).send();

  app.post<{ Params: { name: string } }>(`${base}/keys/:name`, async (request, reply) => {
    if (!keys.has(request.params.name)) create(request.params.name);
    return noContent(reply);
  });
  app.get<{ Params: { name: string } }>(`${base}/keys/:name`, async (request, reply) => {
    const key = keys.get(request.params.name);
    if (!key) return reply.code(404).send({ errors: [] });
    return { data: readKey(request.params.name, key) };
  });
  app.post<{ Params: { name: string } }>(`${base}/keys/:name/rotate`, async (request, reply) => {
    const key = existing(request.params.name);
    key.versions.set(latest(key) + 1, { key: randomBytes(32), created_s: Math.floor(Date.now() / 1000) });
    return noContent(reply);
  });
  app.post<{ Params: { name: string } }>(`${base}/keys/:name/config`, async (request, reply) => {
    const key = existing(request.params.name);
    const min = body(request).min_decryption_version;
    if (min !== undefined) {
      if (typeof min !== 'number' || !Number.isInteger(min) || min < 1 || min > latest(key)) {
        throw new TransitError(400, 'cannot set min decryption version to a value greater than the latest version');
      }
      key.min_decryption_version = min;
    }
    return noContent(reply);
  });
  app.post<{ Params: { name: string } }>(`${base}/encrypt/:name`, async (request) => {
    // Transit upserts a missing key on encrypt when the token may create it (ours may).
    const key = keys.get(request.params.name) ?? create(request.params.name);
    return batchOr(body(request), (item) => ({ ciphertext: encrypt(key, item.plaintext, body(request).key_version) }));
  });
  app.post<{ Params: { name: string } }>(`${base}/decrypt/:name`, async (request) => {
    const key = existing(request.params.name);
    return batchOr(body(request), (item) => ({ plaintext: decrypt(key, item.ciphertext).toString('base64') }));
  });
  app.post<{ Params: { name: string } }>(`${base}/rewrap/:name`, async (request) => {
    const key = existing(request.params.name);
    return batchOr(body(request), (item) => ({ ciphertext: encrypt(key, decrypt(key, item.ciphertext).toString('base64'), body(request).key_version) }));
  });

  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    address,
    token,
    requests,
    latestVersion: (name) => {
      const key = keys.get(name);
      return key ? latest(key) : undefined;
    },
    seal: () => {
      sealed = true;
    },
    unseal: () => {
      sealed = false;
    },
    close: () => app.close(),
  };
}

/** One item, or `batch_input` answered item by item in `batch_results` (a bad item gets `error`). */
function batchOr(body: Item, one: (item: Item) => Item): { data: Item } {
  const batch = body.batch_input;
  if (batch === undefined) return { data: one(body) };
  if (!Array.isArray(batch)) throw new TransitError(400, 'batch_input must be an array');
  return {
    data: {
      batch_results: batch.map((item: Item) => {
        try {
          return one(item);
        } catch (error) {
          return { error: (error as Error).message };
        }
      }),
    },
  };
}

function latest(key: TransitKey): number {
  return Math.max(...key.versions.keys());
}

function readKey(name: string, key: TransitKey): Item {
  return {
    name,
    type: 'aes256-gcm96',
    keys: Object.fromEntries([...key.versions].map(([version, { created_s }]) => [String(version), created_s])),
    latest_version: latest(key),
    min_decryption_version: key.min_decryption_version,
    min_encryption_version: 0,
    deletion_allowed: false,
    derived: false,
    exportable: false,
    allow_plaintext_backup: false,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: true,
    supports_signing: false,
    imported: false,
  };
}

function encrypt(key: TransitKey, plaintext: unknown, key_version: unknown): string {
  if (typeof plaintext !== 'string') throw new TransitError(400, 'missing plaintext to encrypt');
  const version = key_version === undefined || key_version === 0 ? latest(key) : Number(key_version);
  const material = key.versions.get(version);
  if (!material) throw new TransitError(400, 'invalid key version');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material.key, iv);
  const sealed = Buffer.concat([iv, cipher.update(Buffer.from(plaintext, 'base64')), cipher.final(), cipher.getAuthTag()]);
  return `vault:v${version}:${sealed.toString('base64')}`;
}

function decrypt(key: TransitKey, ciphertext: unknown): Buffer {
  if (typeof ciphertext !== 'string') throw new TransitError(400, 'missing ciphertext to decrypt');
  const match = /^vault:v(\d+):(.+)$/.exec(ciphertext);
  if (!match?.[1] || !match[2]) throw new TransitError(400, 'invalid ciphertext: no prefix');
  const version = Number(match[1]);
  if (version < key.min_decryption_version) throw new TransitError(400, 'ciphertext or signature version is disallowed by policy (too old)');
  const material = key.versions.get(version);
  if (!material) throw new TransitError(400, 'invalid ciphertext: version not found');
  const sealed = Buffer.from(match[2], 'base64');
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new TransitError(400, 'invalid ciphertext: too short');
  const decipher = createDecipheriv('aes-256-gcm', material.key, sealed.subarray(0, IV_BYTES));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new TransitError(400, 'cipher: message authentication failed');
  }
}

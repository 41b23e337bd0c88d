import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from '../../../platform/db.js';
import { withTransaction } from '../../../platform/db.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { assert } from '../../../kernel/assert.js';

const KEY_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_RANDOM_CHARS = 32;
const SECRET_KEY_PATTERN = /^sk_test_[0-9A-Za-z]{16,99}$/;

export interface MerchantKeys {
  merchant_id: string;
  secret_key: string;
  publishable_key: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(prefix: 'sk_test' | 'pk_test', random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(KEY_RANDOM_CHARS);
  let body = '';
  for (const byte of bytes) body += KEY_ALPHABET[byte % KEY_ALPHABET.length];
  return `${prefix}_${body}`;
}

export function isWellFormedSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

export async function createMerchant(pool: Pool, ids: IdGenerator, now_s: number, options: { name?: string; secret_key?: string } = {}): Promise<MerchantKeys> {
  const secret_key = options.secret_key ?? generateApiKey('sk_test');
  assert(isWellFormedSecretKey(secret_key), 'secret key must look like sk_test_ followed by 16+ letters or digits');
  const publishable_key = generateApiKey('pk_test');
  const merchant_id = ids.next('merchant');
  await withTransaction(pool, async (client) => {
    await client.query('INSERT INTO merchants.merchants (id, name, created) VALUES ($1, $2, $3)', [merchant_id, options.name ?? 'Default merchant', now_s]);
    for (const [key, kind] of [
      [secret_key, 'secret'],
      [publishable_key, 'publishable'],
    ] as const) {
      await client.query('INSERT INTO merchants.api_keys (key_hash, merchant_id, kind, last4, created) VALUES ($1, $2, $3, $4, $5)', [
        hashApiKey(key),
        merchant_id,
        kind,
        key.slice(-4),
        now_s,
      ]);
    }
  });
  return { merchant_id, secret_key, publishable_key };
}

export async function countMerchants(pool: Pool): Promise<number> {
  const result = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants.merchants');
  return result.rows[0]?.n ?? 0;
}

const MAX_CACHED_KEYS = 10_000;
const NEGATIVE_CACHE_TTL_MS = 5_000;

/**
 * Resolves a secret key to its merchant without a query per request: hits come from memory, misses
 * read the database once. Unknown keys are remembered briefly so a client retrying a bad key cannot
 * turn every request into a query.
 */
export class ApiKeyResolver {
  private readonly known = new Map<string, string>();
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly now_ms: () => number = Date.now,
  ) {}

  async merchantFor(secret_key: string): Promise<string | undefined> {
    const key_hash = hashApiKey(secret_key);
    const cached = this.known.get(key_hash);
    if (cached) return cached;
    const unknown_until_ms = this.unknown.get(key_hash);
    if (unknown_until_ms !== undefined && unknown_until_ms > this.now_ms()) return undefined;

    const result = await this.pool.query<{ merchant_id: string }>(`SELECT merchant_id FROM merchants.api_keys WHERE key_hash = $1 AND kind = 'secret'`, [
      key_hash,
    ]);
    const merchant_id = result.rows[0]?.merchant_id;
    if (merchant_id) {
      remember(this.known, key_hash, merchant_id);
      this.unknown.delete(key_hash);
    } else {
      remember(this.unknown, key_hash, this.now_ms() + NEGATIVE_CACHE_TTL_MS);
    }
    return merchant_id;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_CACHED_KEYS) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

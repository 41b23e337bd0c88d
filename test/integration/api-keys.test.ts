import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { createLogger } from '../../src/platform/logger.js';
import type { KeyStore } from '../../src/services/merchants/index.js';
import {
  ApiKeyResolver,
  KEY_CACHE_TTL_MS,
  KeyAdminError,
  KeyHasher,
  WeakKeyError,
  createApiKey,
  createMerchant,
  listApiKeys,
  revokeApiKey,
  rollApiKey,
} from '../../src/services/merchants/index.js';
import { createMigratedPool } from '../support/database.js';

let pool: Pool;
let url: string;
let drop: () => Promise<void>;
let store: KeyStore;
const hasher = new KeyHasher(randomBytes(32));
const cli = { type: 'cli' } as const;
const quiet = createLogger('silent');

beforeAll(async () => {
  ({ pool, url, drop } = await createMigratedPool(10));
  store = { pool, hasher, ids: new UlidGenerator() };
});
afterAll(async () => {
  await drop();
});

async function waitFor(condition: () => Promise<boolean>, within_ms: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > within_ms) throw new Error(`not within ${within_ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

describe('stored keys', () => {
  it('are keyed hashes, never the key or its plain SHA-256', async () => {
    const keys = await createMerchant(store, 1);
    const rows = await pool.query<{ key_hash: string; hash_scheme: string }>('SELECT key_hash, hash_scheme FROM merchants.api_keys WHERE merchant_id = $1', [
      keys.merchant_id,
    ]);
    expect(rows.rows.map((row) => row.key_hash).sort()).toEqual([hasher.hash(keys.secret_key), hasher.hash(keys.publishable_key)].sort());
    expect(rows.rows.every((row) => row.hash_scheme === 'hmac-sha256')).toBe(true);
    const dump = JSON.stringify((await pool.query('SELECT * FROM merchants.api_keys')).rows);
    expect(dump).not.toContain(keys.secret_key);
    expect(dump).not.toContain(hasher.legacyHash(keys.secret_key));
  });

  it('list shows only a redacted form', async () => {
    const keys = await createMerchant(store, 1);
    const listed = await listApiKeys(pool, keys.merchant_id);
    expect(listed.map((key) => key.redacted).sort()).toEqual([`pk_test_…${keys.publishable_key.slice(-4)}`, `sk_test_…${keys.secret_key.slice(-4)}`]);
    expect(JSON.stringify(listed)).not.toContain(keys.secret_key.slice(8, 20));
  });

  it('keys stored as unsalted SHA-256 before this release still work, and are rehashed on first use', async () => {
    const keys = await createMerchant(store, 1);
    const legacy = 'sk_test_legacyKeyFromOldRelease01';
    await pool.query(
      `INSERT INTO merchants.api_keys (key_hash, hash_scheme, id, merchant_id, kind, last4, created) VALUES (encode(sha256($1::bytea), 'hex'), 'sha256', $2, $3, 'secret', '0001', 1)`,
      [legacy, 'key_LEGACY0000000000000000001', keys.merchant_id],
    );
    const resolver = new ApiKeyResolver(pool, hasher);
    expect(await resolver.resolve(legacy)).toMatchObject({ id: 'key_LEGACY0000000000000000001', merchant_id: keys.merchant_id, kind: 'secret' });
    const row = await pool.query<{ key_hash: string; hash_scheme: string }>('SELECT key_hash, hash_scheme FROM merchants.api_keys WHERE id = $1', [
      'key_LEGACY0000000000000000001',
    ]);
    expect(row.rows[0]).toEqual({ key_hash: hasher.hash(legacy), hash_scheme: 'hmac-sha256' });
    expect(await new ApiKeyResolver(pool, hasher).resolve(legacy)).toMatchObject({ merchant_id: keys.merchant_id });
  });

  it('refuses weak bootstrap keys outside test mode, and non-secret ones', async () => {
    await expect(createMerchant(store, 1, { secret_key: 'sk_live_payrailQuickstart0000001' })).rejects.toThrow(WeakKeyError);
    await expect(createMerchant(store, 1, { secret_key: `sk_live_${'ab'.repeat(20)}` })).rejects.toThrow(WeakKeyError);
    await expect(createMerchant(store, 1, { secret_key: 'pk_test_payrailQuickstart0000001' })).rejects.toThrow(WeakKeyError);
    const merchants = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants.merchants')).rows[0]?.n;
    const before = await merchants();
    const strong = `sk_live_${'x7Kp2QmZ9vRt4LbN8cWd3FhJ6sYg1UaE'}`;
    const created = await createMerchant(store, 1, { secret_key: strong });
    expect(created.publishable_key).toMatch(/^pk_live_/);
    expect(await merchants()).toBe(Number(before) + 1);
  });
});

describe('resolution', () => {
  it('answers from memory for a short while, then reads again', async () => {
    const keys = await createMerchant(store, 1);
    let now_ms = 1_000_000;
    const resolver = new ApiKeyResolver(pool, hasher, () => now_ms);
    expect(await resolver.resolve(keys.secret_key)).toMatchObject({ merchant_id: keys.merchant_id, kind: 'secret', permissions: null });
    // Changed behind the resolver's back (no notification): still cached within the TTL, gone after it.
    await pool.query('UPDATE merchants.api_keys SET revoked_at = 1 WHERE merchant_id = $1', [keys.merchant_id]);
    expect(await resolver.resolve(keys.secret_key)).toMatchObject({ merchant_id: keys.merchant_id });
    now_ms += KEY_CACHE_TTL_MS;
    expect(await resolver.resolve(keys.secret_key)).toBeUndefined();
  });

  it('reads a stale key once for all the requests waiting on it, and never caches a read a notification overtook', async () => {
    const keys = await createMerchant(store, 1);
    const resolver = new ApiKeyResolver(pool, hasher);
    const queries = vi.spyOn(pool, 'query');
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => resolver.resolve(keys.secret_key)));
      expect(new Set(answers.map((answer) => (typeof answer === 'object' ? answer.merchant_id : answer)))).toEqual(new Set([keys.merchant_id]));
      expect(queries).toHaveBeenCalledTimes(1);
      // A change announced while a read is under way: the read answers its request but is not kept.
      const other = await createMerchant(store, 1);
      queries.mockClear();
      const racing = resolver.resolve(other.secret_key);
      resolver.forget('key_ANNOUNCED');
      expect(await racing).toMatchObject({ merchant_id: other.merchant_id });
      expect(await resolver.resolve(other.secret_key)).toMatchObject({ merchant_id: other.merchant_id });
      expect(queries).toHaveBeenCalledTimes(2);
    } finally {
      queries.mockRestore();
    }
  });

  it('does not accept a key as another kind or mode than it was made', async () => {
    const keys = await createMerchant(store, 1);
    const resolver = new ApiKeyResolver(pool, hasher);
    expect(await resolver.resolve(keys.publishable_key)).toMatchObject({ kind: 'publishable' });
    expect(await resolver.resolve(`rk_test_${keys.secret_key.slice(8)}`)).toBeUndefined();
    expect(await resolver.resolve(`sk_live_${keys.secret_key.slice(8)}`)).toBeUndefined();
  });

  it('drops a revoked key in every listening resolver within a round trip, despite a long-lived cache', async () => {
    const keys = await createMerchant(store, 1);
    const resolvers = [new ApiKeyResolver(pool, hasher), new ApiKeyResolver(pool, hasher)];
    await Promise.all(resolvers.map((resolver) => resolver.listen(url, quiet)));
    try {
      for (const resolver of resolvers) expect(await resolver.resolve(keys.secret_key)).toMatchObject({ merchant_id: keys.merchant_id });
      const [secret] = (await listApiKeys(pool, keys.merchant_id)).filter((key) => key.kind === 'secret');
      await revokeApiKey(store, String(secret?.id), { now_s: 2, actor: cli });
      for (const resolver of resolvers) {
        const took_ms = await waitFor(async () => (await resolver.resolve(keys.secret_key)) === undefined, KEY_CACHE_TTL_MS - 1_000);
        expect(took_ms).toBeLessThan(1_000);
      }
    } finally {
      await Promise.all(resolvers.map((resolver) => resolver.stop()));
    }
  });
});

describe('the change listener', () => {
  it('reconnects when its connection is killed, and still drops a revoked key at once', async () => {
    const keys = await createMerchant(store, 1);
    const resolver = new ApiKeyResolver(pool, hasher);
    const listeners = async () =>
      (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN payrail_api_keys'`)).rows;
    await resolver.listen(url, quiet);
    try {
      expect(await resolver.resolve(keys.secret_key)).toMatchObject({ merchant_id: keys.merchant_id });
      const [before, ...others] = await listeners();
      expect(before).toBeDefined();
      expect(others).toEqual([]);
      await pool.query('SELECT pg_terminate_backend($1)', [before?.pid]);
      await waitFor(async () => (await listeners()).some((row) => row.pid !== before?.pid), 5_000);
      const [secret] = (await listApiKeys(pool, keys.merchant_id)).filter((key) => key.kind === 'secret');
      await revokeApiKey(store, String(secret?.id), { now_s: 3, actor: cli });
      expect(await waitFor(async () => (await resolver.resolve(keys.secret_key)) === undefined, KEY_CACHE_TTL_MS - 1_000)).toBeLessThan(1_000);
    } finally {
      await resolver.stop();
    }
  });
});

describe('lifecycle', () => {
  it('rolls a key: the new one works at once, the old one until its expiry, then answers expired', async () => {
    const keys = await createMerchant(store, 1);
    const [old] = (await listApiKeys(pool, keys.merchant_id)).filter((key) => key.kind === 'secret');
    const rolled = await rollApiKey(store, String(old?.id), { now_s: 100, actor: cli, expires_at: 160 });
    expect(rolled.key).toMatch(/^sk_test_/);
    expect(rolled.rolled).toMatchObject({ id: old?.id, expires_at: 160 });
    let now_ms = 100_000;
    const resolver = new ApiKeyResolver(pool, hasher, () => now_ms);
    expect(await resolver.resolve(rolled.key)).toMatchObject({ merchant_id: keys.merchant_id, kind: 'secret' });
    expect(await resolver.resolve(keys.secret_key)).toMatchObject({ merchant_id: keys.merchant_id });
    now_ms = 160_000;
    expect(await resolver.resolve(keys.secret_key)).toBe('expired');
    expect(await resolver.resolve(rolled.key)).toMatchObject({ merchant_id: keys.merchant_id });
    // An expired key cannot be rolled or revoked again; an unknown id is named as such.
    await expect(rollApiKey(store, String(old?.id), { now_s: 200, actor: cli })).rejects.toThrow(KeyAdminError);
    await expect(revokeApiKey(store, 'key_NOSUCHKEY0000000000000000', { now_s: 200, actor: cli })).rejects.toThrow(/No such API key/);
  });

  it('keeps restricted permissions across a roll, and records every change in the audit log', async () => {
    const keys = await createMerchant(store, 1);
    const created = await createApiKey(store, keys.merchant_id, { kind: 'restricted', permissions: { charges: 'read' } }, { now_s: 5, actor: cli });
    const rolled = await rollApiKey(store, created.record.id, { now_s: 6, actor: cli });
    expect(rolled.record).toMatchObject({ kind: 'restricted', permissions: { charges: 'read' } });
    expect(await new ApiKeyResolver(pool, hasher, () => 6_000).resolve(created.key)).toBe('expired');
    const events = await pool.query<{ type: string; object_id: string; data: string }>(
      `SELECT type, object_id, data FROM audit.security_events WHERE merchant_id = $1 ORDER BY seq`,
      [keys.merchant_id],
    );
    expect(events.rows.map((row) => [row.type, row.object_id])).toEqual([
      ['api_key.created', expect.any(String)],
      ['api_key.created', expect.any(String)],
      ['api_key.created', created.record.id],
      ['api_key.created', rolled.record.id],
      ['api_key.rolled', created.record.id],
    ]);
    const log = JSON.stringify(events.rows);
    for (const key of [keys.secret_key, keys.publishable_key, created.key, rolled.key]) expect(log).not.toContain(key.slice(8));
    await expect(createApiKey(store, 'acct_NOSUCHMERCHANT', { kind: 'secret' }, { now_s: 7, actor: cli })).rejects.toThrow(/No such merchant/);
  });
});

import pg from 'pg';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { ApiKeyKind, Permissions } from '../domain/api-keys.js';
import { keyShape } from '../domain/api-keys.js';
import { API_KEY_CHANNEL } from './api-keys.js';
import type { KeyHasher } from './key-hashing.js';

/** What an authenticated request knows of its key: never the key itself. */
export interface AuthenticatedKey {
  id: string;
  merchant_id: string;
  kind: ApiKeyKind;
  livemode: boolean;
  permissions: Permissions | null;
  /** Unix seconds after which a rolled key stops working; null while it has no end. */
  expires_at: number | null;
}

interface CacheEntry {
  key: AuthenticatedKey | null;
  fetched_ms: number;
}

const MAX_CACHED_KEYS = 10_000;
/**
 * How long a process trusts what it read about a key. Revocations reach every process at once through
 * NOTIFY; this bounds their delay when a notification is lost (the listening connection broke).
 */
export const KEY_CACHE_TTL_MS = 5_000;
const LISTEN_RETRY_MS = 1_000;

interface KeyRow {
  id: string;
  merchant_id: string;
  kind: ApiKeyKind;
  livemode: boolean;
  permissions: Permissions | null;
  expires_at: string | null;
  hash_scheme: 'sha256' | 'hmac-sha256';
  key_hash: string;
}

/**
 * Resolves an API key to its merchant and permissions from a short-lived in-process cache: one query
 * per key per TTL, not per request. Unknown keys are cached too, so retrying a bad key cannot turn
 * every request into a query. `listen()` subscribes to key changes, so a revoked or rolled key is
 * dropped in every process within a round trip of the change's commit.
 */
export class ApiKeyResolver {
  private readonly cache = new Map<string, CacheEntry>();
  /** Reads under way, so the requests that find a key's entry stale together wait for one query. */
  private readonly reading = new Map<string, { generation: number; entry: Promise<CacheEntry> }>();
  /** Bumped by every notification: a read that began before one may hold what it announced gone, so it is not cached. */
  private generation = 0;
  private listener: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly hasher: KeyHasher,
    private readonly now_ms: () => number = Date.now,
  ) {}

  /** The key's record; 'expired' for a rolled key past its expiry; undefined for unknown and revoked keys. */
  async resolve(key: string): Promise<AuthenticatedKey | 'expired' | undefined> {
    if (!keyShape(key)) return undefined;
    const key_hash = this.hasher.hash(key);
    const now_ms = this.now_ms();
    let entry = this.cache.get(key_hash);
    if (!entry || now_ms - entry.fetched_ms >= KEY_CACHE_TTL_MS) entry = await this.refresh(key, key_hash, now_ms);
    const found = entry.key;
    if (found && found.expires_at !== null && found.expires_at * 1000 <= now_ms) return 'expired';
    return found ?? undefined;
  }

  /** Drops every cached key (after a lost notification connection: changes may have been missed). */
  forgetAll(): void {
    this.generation++;
    this.cache.clear();
  }

  /** Drops the cached entries of one key (by id: notifications never carry keys or hashes). */
  forget(key_id: string): void {
    this.generation++;
    for (const [hash, entry] of this.cache) if (entry.key?.id === key_id) this.cache.delete(hash);
  }

  /** Subscribes to key changes on a connection of its own, reconnecting when it breaks. */
  async listen(database_url: string, logger: Logger): Promise<void> {
    const client = new pg.Client({ connectionString: database_url });
    const reconnect = (error: unknown) => {
      if (this.stopped || this.listener !== client) return;
      logger.warn({ err: error }, 'API key change listener lost; reconnecting');
      this.listener = undefined;
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
      this.forgetAll();
      this.retry = setTimeout(() => void this.listen(database_url, logger).catch((retry_error: unknown) => reconnect(retry_error)), LISTEN_RETRY_MS);
    };
    this.listener = client;
    client.on('error', reconnect);
    client.on('end', () => reconnect(new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel === API_KEY_CHANNEL && message.payload) this.forget(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${API_KEY_CHANNEL}`);
    } catch (error) {
      reconnect(error);
    }
    // Changes made while not listening are not announced again.
    this.forgetAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  private refresh(key: string, key_hash: string, now_ms: number): Promise<CacheEntry> {
    const generation = this.generation;
    const pending = this.reading.get(key_hash);
    if (pending?.generation === generation) return pending.entry;
    const entry = this.read(key, key_hash)
      .then((found) => {
        const fresh = { key: found, fetched_ms: now_ms };
        if (this.generation === generation) remember(this.cache, key_hash, fresh);
        return fresh;
      })
      .finally(() => {
        if (this.reading.get(key_hash)?.entry === entry) this.reading.delete(key_hash);
      });
    this.reading.set(key_hash, { generation, entry });
    return entry;
  }

  private async read(key: string, key_hash: string): Promise<AuthenticatedKey | null> {
    const legacy_hash = this.hasher.legacyHash(key);
    const result = await this.pool.query<KeyRow>(
      `SELECT id, merchant_id, kind, livemode, permissions, expires_at, hash_scheme, key_hash FROM merchants.api_keys
       WHERE revoked_at IS NULL AND ((key_hash = $1 AND hash_scheme = 'hmac-sha256') OR (key_hash = $2 AND hash_scheme = 'sha256'))`,
      [key_hash, legacy_hash],
    );
    const row = result.rows[0];
    const shape = keyShape(key);
    if (!row || shape?.kind !== row.kind || shape.livemode !== row.livemode) return null;
    if (row.hash_scheme === 'sha256') {
      // A key stored before keyed hashes: now that it is in hand, store its keyed hash instead.
      await this.pool.query(`UPDATE merchants.api_keys SET key_hash = $1, hash_scheme = 'hmac-sha256' WHERE key_hash = $2 AND hash_scheme = 'sha256'`, [
        key_hash,
        legacy_hash,
      ]);
    }
    return {
      id: row.id,
      merchant_id: row.merchant_id,
      kind: row.kind,
      livemode: row.livemode,
      permissions: row.permissions,
      expires_at: row.expires_at === null ? null : Number(row.expires_at),
    };
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_CACHED_KEYS && !map.has(key)) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../../../platform/db.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Actor } from '../../audit/index.js';
import { securityEvent } from '../../audit/index.js';
import { run } from '../../../platform/db.js';
import type { ApiKeyKind, Permissions } from '../domain/api-keys.js';
import { generateKey, keyPrefix, redactedKey } from '../domain/api-keys.js';
import type { KeyHasher } from './key-hashing.js';

/**
 * The API key lifecycle: create (the key is returned once, never stored in clear), roll (a new key;
 * the old one keeps working until its expiry) and revoke. Each change is audited in its own
 * transaction and announced on `payrail_api_keys`, so every process drops its cached copy at once.
 *
 * Not through the write pipeline: its idempotency record stores the response for replays, and a
 * response holding a key in clear must never be stored.
 */

export const API_KEY_CHANNEL = 'payrail_api_keys';

export interface KeyStore {
  pool: Pool;
  hasher: KeyHasher;
  ids: IdGenerator;
  random?: (n: number) => Buffer;
}

export interface NewKey {
  kind: ApiKeyKind;
  livemode?: boolean;
  name?: string | null;
  /** Restricted keys only. */
  permissions?: Permissions;
  /** An operator-chosen key (the bootstrap key); checked by the caller with `weakKeyReason`. */
  key?: string;
}

export interface ApiKeyRecord {
  id: string;
  merchant_id: string;
  kind: ApiKeyKind;
  livemode: boolean;
  name: string | null;
  /** `sk_test_…a1B2` */
  redacted: string;
  permissions: Permissions | null;
  created: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export type ApiKeyStatus = 'active' | 'expiring' | 'expired' | 'revoked';

export function keyStatus(key: ApiKeyRecord, now_s: number): ApiKeyStatus {
  if (key.revoked_at !== null) return 'revoked';
  if (key.expires_at === null) return 'active';
  return key.expires_at > now_s ? 'expiring' : 'expired';
}

/** Thrown for an unknown key id or a change its state does not allow; the CLI and the admin API say it plainly. */
export class KeyAdminError extends Error {
  override name = 'KeyAdminError';
  constructor(
    message: string,
    readonly reason: 'not_found' | 'invalid_state',
  ) {
    super(message);
  }
}

interface KeyRow {
  id: string;
  merchant_id: string;
  kind: ApiKeyKind;
  livemode: boolean;
  name: string | null;
  last4: string;
  permissions: Permissions | null;
  created: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const KEY_COLUMNS = 'id, merchant_id, kind, livemode, name, last4, permissions, created, expires_at, revoked_at';

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    merchant_id: row.merchant_id,
    kind: row.kind,
    livemode: row.livemode,
    name: row.name,
    redacted: redactedKey(keyPrefix(row.kind, row.livemode), row.last4),
    permissions: row.permissions,
    created: Number(row.created),
    expires_at: row.expires_at === null ? null : Number(row.expires_at),
    revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** Inserts a key inside the caller's transaction; returns it in clear (the only time) with its record. */
export async function insertKey(
  store: KeyStore,
  client: PoolClient,
  merchant_id: string,
  spec: NewKey,
  context: { now_s: number; actor: Actor },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const livemode = spec.livemode ?? false;
  const key = spec.key ?? generateKey(spec.kind, livemode, store.random ?? randomBytes);
  const id = store.ids.next('api_key');
  const permissions = spec.kind === 'restricted' ? (spec.permissions ?? {}) : null;
  const result = await client.query<KeyRow>(
    `INSERT INTO merchants.api_keys (key_hash, hash_scheme, id, merchant_id, kind, livemode, name, last4, permissions, created)
     VALUES ($1, 'hmac-sha256', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${KEY_COLUMNS}`,
    [store.hasher.hash(key), id, merchant_id, spec.kind, livemode, spec.name ?? null, key.slice(-4), permissions, context.now_s],
  );
  const record = toRecord(result.rows[0] as KeyRow);
  await audit(client, 'api_key.created', record, context, { kind: record.kind, livemode, permissions });
  return { key, record };
}

export async function createApiKey(store: KeyStore, merchant_id: string, spec: NewKey, context: { now_s: number; actor: Actor }) {
  return withTransaction(store.pool, async (client) => {
    const merchant = await client.query('SELECT 1 FROM merchants.merchants WHERE id = $1', [merchant_id]);
    if (merchant.rowCount === 0) throw new KeyAdminError(`No such merchant: '${merchant_id.slice(0, 64)}'`, 'not_found');
    return insertKey(store, client, merchant_id, spec, context);
  });
}

/**
 * A new key of the same kind, mode, name and permissions; the old one stops working at `expires_at`
 * (unix seconds; now when omitted or past), as Stripe's roll does.
 */
export async function rollApiKey(store: KeyStore, key_id: string, context: { now_s: number; actor: Actor; expires_at?: number }) {
  return withTransaction(store.pool, async (client) => {
    const old = await activeKey(client, key_id, context.now_s);
    const expires_at = Math.max(context.now_s, Math.min(context.expires_at ?? context.now_s, old.expires_at ?? Number.MAX_SAFE_INTEGER));
    await client.query('UPDATE merchants.api_keys SET expires_at = $2 WHERE id = $1', [old.id, expires_at]);
    await announce(client, old.id);
    const created = await insertKey(
      store,
      client,
      old.merchant_id,
      { kind: old.kind, livemode: old.livemode, name: old.name, ...(old.permissions ? { permissions: old.permissions } : {}) },
      context,
    );
    await audit(client, 'api_key.rolled', old, context, { expires_at, replaced_by: created.record.id });
    return { ...created, rolled: { ...old, expires_at } };
  });
}

/** Stops a key at once, in every process (see `ApiKeyResolver`). */
export async function revokeApiKey(store: KeyStore, key_id: string, context: { now_s: number; actor: Actor }): Promise<ApiKeyRecord> {
  return withTransaction(store.pool, async (client) => {
    const key = await activeKey(client, key_id, context.now_s);
    await client.query('UPDATE merchants.api_keys SET revoked_at = $2 WHERE id = $1', [key.id, context.now_s]);
    await announce(client, key.id);
    await audit(client, 'api_key.revoked', key, context, {});
    return { ...key, revoked_at: context.now_s };
  });
}

/** One merchant's keys, or every merchant's (the operator's view) when `merchant_id` is null. */
export async function listApiKeys(pool: Pool, merchant_id: string | null): Promise<ApiKeyRecord[]> {
  const result = await pool.query<KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM merchants.api_keys WHERE $1::text IS NULL OR merchant_id = $1 ORDER BY merchant_id, created, id`,
    [merchant_id],
  );
  return result.rows.map(toRecord);
}

/** The key, locked for the change; refused when it no longer works. */
async function activeKey(client: PoolClient, key_id: string, now_s: number): Promise<ApiKeyRecord> {
  const result = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM merchants.api_keys WHERE id = $1 FOR UPDATE`, [key_id]);
  const row = result.rows[0];
  if (!row) throw new KeyAdminError(`No such API key: '${key_id.slice(0, 64)}'`, 'not_found');
  const key = toRecord(row);
  const status = keyStatus(key, now_s);
  if (status === 'revoked' || status === 'expired') throw new KeyAdminError(`API key ${key.id} is ${status}; nothing to change.`, 'invalid_state');
  return key;
}

/** Delivered at commit to every process listening; the payload is the key id, never the key or its hash. */
async function announce(client: PoolClient, key_id: string): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [API_KEY_CHANNEL, key_id]);
}

async function audit(client: PoolClient, type: string, key: ApiKeyRecord, context: { now_s: number; actor: Actor }, data: Record<string, unknown>) {
  await run(client, securityEvent({ type, merchant_id: key.merchant_id, object_id: key.id, actor: context.actor, at_ms: context.now_s * 1000, data }));
}

import type { Pool } from '../../../platform/db.js';
import { withTransaction } from '../../../platform/db.js';
import type { Actor } from '../../audit/index.js';
import { weakKeyReason } from '../domain/api-keys.js';
import type { KeyStore } from './api-keys.js';
import { insertKey } from './api-keys.js';

export interface MerchantKeys {
  merchant_id: string;
  /** In clear: shown once, here, and never again. */
  secret_key: string;
  publishable_key: string;
}

/** Thrown when an operator-chosen key is refused (weak, or not a secret key). */
export class WeakKeyError extends Error {
  override name = 'WeakKeyError';
}

const OPERATOR: Actor = { type: 'cli' };

/**
 * A merchant with a secret and a publishable key, both in test mode unless `livemode`.
 * `secret_key` (the bootstrap key) is the operator's choice and must pass `weakKeyReason`.
 */
export async function createMerchant(
  store: KeyStore,
  now_s: number,
  options: { name?: string | undefined; secret_key?: string | undefined; livemode?: boolean; actor?: Actor } = {},
): Promise<MerchantKeys> {
  if (options.secret_key !== undefined) {
    const reason = weakKeyReason(options.secret_key) ?? (options.secret_key.startsWith('sk_') ? undefined : 'the bootstrap key must be a secret key (sk_…)');
    if (reason) throw new WeakKeyError(`API key refused: ${reason}`);
  }
  const livemode = options.livemode ?? options.secret_key?.startsWith('sk_live_') ?? false;
  const merchant_id = store.ids.next('merchant');
  const context = { now_s, actor: options.actor ?? OPERATOR };
  return withTransaction(store.pool, async (client) => {
    await client.query('INSERT INTO merchants.merchants (id, name, created) VALUES ($1, $2, $3)', [merchant_id, options.name ?? 'Default merchant', now_s]);
    const secret = await insertKey(store, client, merchant_id, { kind: 'secret', livemode, name: 'Secret key', key: options.secret_key }, context);
    const publishable = await insertKey(store, client, merchant_id, { kind: 'publishable', livemode, name: 'Publishable key' }, context);
    return { merchant_id, secret_key: secret.key, publishable_key: publishable.key };
  });
}

export async function countMerchants(pool: Pool): Promise<number> {
  const result = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants.merchants');
  return result.rows[0]?.n ?? 0;
}

/** Whether the merchant exists: operators' tools name a merchant by id, and a typo must not store anything. */
export async function merchantExists(pool: Pool, merchant_id: string): Promise<boolean> {
  const result = await pool.query('SELECT 1 FROM merchants.merchants WHERE id = $1', [merchant_id]);
  return (result.rowCount ?? 0) > 0;
}

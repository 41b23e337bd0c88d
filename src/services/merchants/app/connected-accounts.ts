import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';

/**
 * Connect's reads other services need: a merchant's settlement currency, and whether an account is a
 * live connected account of a platform. Through the request role, `db` must be scoped to the merchant
 * (or to the account's platform: the platform_scope policy of merchants/004 shows it its accounts).
 */

/** The merchant's settlement currency (Stripe's account.default_currency), lowercase ISO 4217. */
export async function settlementCurrencyOf(db: Db, merchant_id: string): Promise<string> {
  const result = await run<{ default_currency: string }>(db, sql`SELECT default_currency FROM merchants.merchants WHERE id = ${merchant_id}`);
  const row = result.rows[0];
  if (!row) throw new Error(`settlementCurrencyOf: merchant ${merchant_id} is not visible here (unknown, or the reader is scoped to another merchant)`);
  return row.default_currency;
}

export interface ConnectedAccountRef {
  id: string;
  platform_id: string;
  default_currency: string;
}

/** `account_id` when it is a connected account of `platform_id` and not deleted; undefined otherwise. */
export async function connectedAccountOf(db: Db, platform_id: string, account_id: string): Promise<ConnectedAccountRef | undefined> {
  const result = await run<ConnectedAccountRef>(
    db,
    sql`SELECT id, platform_id, default_currency FROM merchants.merchants
      WHERE id = ${account_id} AND platform_id = ${platform_id} AND deleted_at IS NULL`,
  );
  return result.rows[0];
}

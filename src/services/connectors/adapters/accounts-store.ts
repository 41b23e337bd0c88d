import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { ConnectorType } from '../app/registry.js';
import type { RoutingRules } from '../domain/routing-rules.js';

/** SQL for connectors.connector_accounts and connectors.routing_rules (migrations/accounts.ts). */

export type AccountStatus = 'enabled' | 'disabled' | 'deleted';

/** An account as stored, without its sealed credentials: what every read but opening a connector needs. */
export interface StoredAccount {
  merchant_id: string;
  id: string;
  type: ConnectorType;
  label: string;
  status: AccountStatus;
  /** Each credential field: non-secret ones as given, secret ones masked (`…f00d`). */
  credentials_hint: Record<string, string>;
  created: number;
  updated: number;
  version: number;
}

export interface StoredRouting {
  version: number;
  /** null: no routing rules (everything to the built-in sandbox). */
  rules: RoutingRules | null;
  created: number;
}

/** The merchant's accounts that are not deleted, oldest first. */
export async function listAccounts(db: Db, merchant_id: string): Promise<StoredAccount[]> {
  const result = await run<StoredAccount>(
    db,
    sql`SELECT merchant_id, id, type, label, status, credentials_hint, created, updated, version FROM connectors.connector_accounts WHERE merchant_id = ${merchant_id} AND status <> 'deleted' ORDER BY id`,
  );
  return result.rows;
}

/** One account, deleted ones included (their payments still reach the processor); locked when `lock`. */
export async function getAccount(db: Db, merchant_id: string, id: string, lock = false): Promise<StoredAccount | undefined> {
  const result = await run<StoredAccount>(
    db,
    lock
      ? sql`SELECT merchant_id, id, type, label, status, credentials_hint, created, updated, version FROM connectors.connector_accounts WHERE merchant_id = ${merchant_id} AND id = ${id} FOR UPDATE`
      : sql`SELECT merchant_id, id, type, label, status, credentials_hint, created, updated, version FROM connectors.connector_accounts WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  return result.rows[0];
}

/** The sealed credentials of one account and the version they belong to. */
export async function sealedCredentials(db: Db, merchant_id: string, id: string): Promise<{ sealed: Buffer; account: StoredAccount } | undefined> {
  const result = await run<StoredAccount & { sealed_credentials: Buffer }>(
    db,
    sql`SELECT merchant_id, id, type, label, status, credentials_hint, created, updated, version, sealed_credentials FROM connectors.connector_accounts WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  const { sealed_credentials, ...account } = row;
  return { sealed: sealed_credentials, account };
}

export async function accountCount(db: Db, merchant_id: string): Promise<number> {
  const result = await run<{ count: number }>(
    db,
    sql`SELECT count(*)::int AS count FROM connectors.connector_accounts WHERE merchant_id = ${merchant_id} AND status <> 'deleted'`,
  );
  return result.rows[0]?.count ?? 0;
}

export function insertAccount(account: StoredAccount, sealed: Buffer): SqlFragment {
  return sql`INSERT INTO connectors.connector_accounts (merchant_id, id, type, label, status, sealed_credentials, credentials_hint, created, updated, version)
    VALUES (${account.merchant_id}, ${account.id}, ${account.type}, ${account.label}, ${account.status}, ${sealed},
      ${JSON.stringify(account.credentials_hint)}::jsonb, ${account.created}, ${account.updated}, ${account.version})`;
}

/** Saves a change of the account read at `before_version`; `sealed` only when the credentials changed. */
export function updateAccount(account: StoredAccount, before_version: number, sealed: Buffer | undefined): SqlFragment {
  return sql`UPDATE connectors.connector_accounts SET label = ${account.label}, status = ${account.status},
      credentials_hint = ${JSON.stringify(account.credentials_hint)}::jsonb, updated = ${account.updated}, version = ${account.version},
      sealed_credentials = coalesce(${sealed ?? null}::bytea, sealed_credentials)
    WHERE merchant_id = ${account.merchant_id} AND id = ${account.id} AND version = ${before_version}`;
}

/** The rules in force: the highest version; undefined before the merchant ever set any. */
export async function currentRouting(db: Db, merchant_id: string): Promise<StoredRouting | undefined> {
  const result = await run<StoredRouting>(
    db,
    sql`SELECT version, rules, created FROM connectors.routing_rules WHERE merchant_id = ${merchant_id} ORDER BY version DESC LIMIT 1`,
  );
  return result.rows[0];
}

export function insertRouting(merchant_id: string, routing: StoredRouting): SqlFragment {
  return sql`INSERT INTO connectors.routing_rules (merchant_id, version, rules, created)
    VALUES (${merchant_id}, ${routing.version}, ${routing.rules === null ? null : JSON.stringify(routing.rules)}::jsonb, ${routing.created})`;
}

/** Serializes a merchant's changes to accounts and rules, so a rule never names an account a racing change removed. */
export async function lockMerchantRouting(db: Db, merchant_id: string): Promise<void> {
  await run(db, sql`SELECT pg_advisory_xact_lock(hashtextextended(${`connectors.routing:${merchant_id}`}, 0))`);
}

import { assert } from '../kernel/assert.js';
import { MERCHANT_SETTING } from './merchant-scope.js';

/**
 * The database roles Payrail's pools connect as (docs/security.md, "Least privilege and row-level
 * security"). None is a superuser, none may create roles or databases, none owns a table; migrations
 * run as the owner (DATABASE_URL) and create them (platform/002_roles).
 *
 * - `app`: the request path (the write pipeline and the readers behind every GET). Bound by the
 *   merchant scope on every merchant-scoped table; reads no card ciphertext.
 * - `vault`: the vault's own reads of sealed card numbers.
 * - `system`: work that spans merchants by design (ledger worker, webhook consumer and sender, event
 *   relay, orphan sweeper, API-key lookup, the CLI, the sandbox processor): every row of the tables it
 *   is granted, through the `system_scope` policy, and nothing in the vault schema.
 *
 * The names are fixed: they are in the migrations' SQL, whose checksums may never change.
 */
export const DB_ROLES = { app: 'payrail_app', vault: 'payrail_vault', system: 'payrail_system' } as const;
export type DbRole = keyof typeof DB_ROLES;

const TABLE_NAME = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const COLUMN_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * A migration's SQL that puts `table` under row-level security: a role sees and writes only the rows
 * whose `column` is the merchant of the current transaction (`SET LOCAL payrail.merchant_id`, set by
 * the merchant-scoped pools), with none at all when no merchant is set; `payrail_system` sees every
 * row. FORCE binds the table's owner too. One line per table in a service's migrations:
 * `sql: merchantScoped('payments.charges')`. Its text is part of each migration's checksum, so it
 * must never change: a different policy is a new helper and a new migration.
 */
export function merchantScoped(table: string, column = 'merchant_id'): string {
  assert(TABLE_NAME.test(table), `${table} is not a schema-qualified table name`);
  assert(COLUMN_NAME.test(column), `${column} is not a plain column name`);
  const same_merchant = `${column} = current_setting('${MERCHANT_SETTING}', true)`;
  return `
      ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
      ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;
      CREATE POLICY merchant_scope ON ${table} USING (${same_merchant}) WITH CHECK (${same_merchant});
      CREATE POLICY system_scope ON ${table} TO ${DB_ROLES.system} USING (true) WITH CHECK (true);`;
}

/** `merchantScoped` for several tables, in one migration. */
export function merchantScopedTables(tables: readonly string[]): string {
  return tables.map((table) => merchantScoped(table)).join('\n');
}

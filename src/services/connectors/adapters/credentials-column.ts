import type { Pool, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import { sealContext } from '../app/connector-accounts.js';

/**
 * Connector accounts' sealed credentials as a column the vault's key rotation rewraps
 * (`payrail keys rotate`): pages in (merchant, id) order, and a replace that only lands where the row
 * still holds what was read, so a rotation racing a credentials change never overwrites the new ones.
 * Deleted accounts are included: their credentials still open for their payments' refunds.
 */
export function connectorCredentialsColumn(pool: Pool) {
  return {
    name: 'connector credentials',
    page: async (cursor: string, limit: number) => {
      const [after_merchant = '', after_id = ''] = cursor === '' ? [] : cursor.split('\n');
      const result = await run<{ merchant_id: string; id: string; sealed_credentials: Buffer }>(
        pool,
        sql`SELECT merchant_id, id, sealed_credentials FROM connectors.connector_accounts
          WHERE (merchant_id, id) > (${after_merchant}, ${after_id}) ORDER BY merchant_id, id LIMIT ${limit}`,
      );
      return result.rows.map((row) => ({
        cursor: `${row.merchant_id}\n${row.id}`,
        context: sealContext(row.merchant_id, row.id),
        sealed: row.sealed_credentials,
      }));
    },
    replace: async (rows: ReadonlyArray<{ cursor: string; before: Buffer; after: Buffer }>) => {
      if (rows.length === 0) return 0;
      const values: SqlFragment[] = rows.map((row) => {
        const [merchant_id = '', id = ''] = row.cursor.split('\n');
        return sql`(${merchant_id}::text, ${id}::text, ${row.before}::bytea, ${row.after}::bytea)`;
      });
      const statement = joinSql(
        [
          sql`UPDATE connectors.connector_accounts AS a SET sealed_credentials = v.after FROM (VALUES `,
          joinSql(values, ', '),
          sql`) AS v(merchant_id, id, before, after) WHERE a.merchant_id = v.merchant_id AND a.id = v.id AND a.sealed_credentials = v.before`,
        ],
        '',
      );
      const result = await run(pool, statement);
      return result.rowCount ?? 0;
    },
  };
}

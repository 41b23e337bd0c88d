import type { Pool, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';

/**
 * The endpoints' sealed signing secrets as a column `payrail keys rotate` rewraps (the vault's
 * `SealedColumn`): read in (merchant, id) order, each sealed with its endpoint id as context, and
 * written back only where the stored value is still the one read.
 */
export function webhookSecretColumn(pool: Pool) {
  return {
    name: 'webhook secrets',
    page: async (cursor: string, limit: number) => {
      const [after_merchant = '', after_id = ''] = cursor === '' ? [] : cursor.split('\n');
      const result = await run<{ merchant_id: string; id: string; secret_sealed: Buffer }>(
        pool,
        sql`SELECT merchant_id, id, secret_sealed FROM events.webhook_endpoints
          WHERE (merchant_id, id) > (${after_merchant}, ${after_id}) ORDER BY merchant_id, id LIMIT ${limit}`,
      );
      return result.rows.map((row) => ({ cursor: `${row.merchant_id}\n${row.id}`, context: row.id, sealed: row.secret_sealed }));
    },
    replace: async (rows: ReadonlyArray<{ cursor: string; before: Buffer; after: Buffer }>) => {
      if (rows.length === 0) return 0;
      const values: SqlFragment[] = rows.map((row) => {
        const [merchant_id = '', id = ''] = row.cursor.split('\n');
        return sql`(${merchant_id}::text, ${id}::text, ${row.before}::bytea, ${row.after}::bytea)`;
      });
      const statement = joinSql(
        [
          sql`UPDATE events.webhook_endpoints AS e SET secret_sealed = v.after FROM (VALUES `,
          joinSql(values, ', '),
          sql`) AS v(merchant_id, id, before, after) WHERE e.merchant_id = v.merchant_id AND e.id = v.id AND e.secret_sealed = v.before`,
        ],
        '',
      );
      const result = await run(pool, statement);
      return result.rowCount ?? 0;
    },
  };
}

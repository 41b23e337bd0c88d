import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { createPool, run, sql, withTransaction } from '../../src/platform/db.js';
import { outsideMerchant, withMerchant } from '../../src/platform/merchant-scope.js';
import type { DbRole } from '../../src/platform/rls.js';
import { DB_ROLES } from '../../src/platform/rls.js';
import { derivedPassword, ensureRolePasswords } from '../../src/platform/roles.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The merchant scope of the request path's pools (src/platform/db.ts, merchant-scope.ts): each
 * statement runs in a transaction scoped to the merchant of the work that made it, and the scope
 * never outlives that transaction on a pooled connection.
 */

const A = 'acct_01SCOPETESTAAAAAAAAAAAAAAA';
const B = 'acct_01SCOPETESTBBBBBBBBBBBBBBB';
const CUSTOMERS = { [A]: 3, [B]: 5 };

let database: MigratedDatabase;
let app_url: string;

/** The role's connection string on the test database, as openDatabase derives it (password set where one is needed). */
async function roleUrl(role: DbRole): Promise<string> {
  const url = new URL(database.url);
  const owner_password = decodeURIComponent(url.password);
  url.username = DB_ROLES[role];
  url.password = owner_password ? derivedPassword(owner_password, role) : '';
  if (owner_password) await ensureRolePasswords(database.pool, [{ role, url: url.toString(), password: derivedPassword(owner_password, role) }]);
  return url.toString();
}

const countCustomers = (db: Pool) => run<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM payments.customers`).then((r) => r.rows[0]?.n);

beforeAll(async () => {
  database = await createMigratedPool(2);
  for (const [merchant, count] of Object.entries(CUSTOMERS)) {
    for (let i = 0; i < count; i += 1) {
      await database.pool.query(`INSERT INTO payments.customers (merchant_id, id, created, version, state) VALUES ($1, $2, 0, 1, '{}')`, [
        merchant,
        `cus_${merchant}_${i}`,
      ]);
    }
  }
  app_url = await roleUrl('app');
});
afterAll(async () => {
  await database?.drop();
});

describe('a merchant-scoped pool', () => {
  it('shows a statement its merchant’s rows, and none once the scope is gone, on the same connection', async () => {
    const pool = createPool(app_url, 1, undefined, { merchant_scoped: true });
    try {
      expect(await withMerchant(A, () => countCustomers(pool))).toBe(CUSTOMERS[A]);
      expect(await countCustomers(pool)).toBe(0);
      expect(await withMerchant(B, () => countCustomers(pool))).toBe(CUSTOMERS[B]);
      const leftover = await pool.query<{ setting: string | null }>(`SELECT current_setting('payrail.merchant_id', true) AS setting`);
      expect(leftover.rows[0]?.setting ?? '').toBe('');
    } finally {
      await pool.end();
    }
  });

  it('keeps concurrent work apart: each of many interleaved statements sees only its own merchant', async () => {
    const pool = createPool(app_url, 3, undefined, { merchant_scoped: true, read_only: true });
    try {
      const seen = await Promise.all(
        Array.from({ length: 60 }, (_, i) => {
          const merchant = i % 2 === 0 ? A : B;
          return withMerchant(merchant, async () => {
            await new Promise((resolve) => setTimeout(resolve, i % 7));
            return { merchant, n: await countCustomers(pool) };
          });
        }),
      );
      expect(seen.filter(({ merchant, n }) => n !== CUSTOMERS[merchant as typeof A | typeof B])).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('scopes a whole transaction taken inside the scope, and work started outside of it sees nothing', async () => {
    const pool = createPool(app_url, 1, undefined, { merchant_scoped: true });
    try {
      const inside = await withMerchant(A, () =>
        withTransaction(pool, async (client) => {
          const setting = await client.query<{ merchant: string }>(`SELECT current_setting('payrail.merchant_id') AS merchant`);
          return { merchant: setting.rows[0]?.merchant, n: await countCustomers(client as unknown as Pool) };
        }),
      );
      expect(inside).toEqual({ merchant: A, n: CUSTOMERS[A] });
      expect(await withMerchant(A, () => outsideMerchant(() => countCustomers(pool)))).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('refuses anything but a merchant id before a statement is sent', () => {
    expect(() => withMerchant("acct_x', true); DROP TABLE payments.customers; --", () => 1)).toThrow(/not a merchant id/);
    expect(() => withMerchant('', () => 1)).toThrow(/not a merchant id/);
  });

  it('leaves other pools alone: the system role, for work spanning merchants, sees every merchant inside a scope too', async () => {
    const pool = createPool(await roleUrl('system'), 1);
    try {
      expect(await withMerchant(A, () => countCustomers(pool))).toBe(CUSTOMERS[A] + CUSTOMERS[B]);
    } finally {
      await pool.end();
    }
  });
});

import type { Pool } from '../db.js';

/**
 * Makes every connection of `pool` read-only in the database itself, so a use case handed this pool
 * cannot write around the write pipeline: PostgreSQL refuses (SQLSTATE 25006). The SET is the first
 * query on each new connection, and a connection runs its queries in order.
 */
export function readOnly(pool: Pool): Pool {
  pool.on('connect', (client) => {
    client.query('SET default_transaction_read_only = on').catch(() => {});
  });
  return pool;
}

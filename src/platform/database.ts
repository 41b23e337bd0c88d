import type { Config } from './config.js';
import { poolLimits } from './config.js';
import type { Pool } from './db.js';
import { createPool } from './db.js';
import { openEmbeddedDatabase } from './embedded-db.js';
import type { Migration } from './migrations.js';
import { migrate } from './migrations.js';

export interface Database {
  pool: Pool;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * The external PostgreSQL at DATABASE_URL, or the embedded one; migrated before use with `migrations`
 * (every service's, from the composition root), unless `migrations` is empty.
 */
export async function openDatabase(config: Config, migrations: readonly Migration[], pool_max = config.db_pool_max): Promise<Database> {
  const embedded = config.database_url ? undefined : await openEmbeddedDatabase(config.data_dir, config.embedded_pg_port);
  const url = config.database_url ?? embedded?.url;
  if (!url) throw new Error('no database: set DATABASE_URL or let Payrail start its embedded PostgreSQL');
  const pool = createPool(url, pool_max, poolLimits(config));
  try {
    if (migrations.length > 0) await migrate(pool, migrations);
  } catch (error) {
    // A failed start leaves no PostgreSQL of ours running behind it.
    await pool.end();
    await embedded?.stop();
    throw error;
  }
  return {
    pool,
    url,
    embedded: embedded !== undefined,
    close: async () => {
      await pool.end();
      await embedded?.stop();
    },
  };
}

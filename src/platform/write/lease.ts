import { randomInt } from 'node:crypto';
import pg from 'pg';
import { assert } from '../../kernel/assert.js';
import type { SqlFragment } from '../db.js';
import { rawSql } from '../db.js';

/**
 * Proof of life for a process, kept by PostgreSQL itself: each process holds a session advisory lock
 * on one dedicated connection. When the process dies, the kernel closes its socket, the session ends
 * and the lock is gone, so another process can tell at once that work held by this process (an
 * idempotency lock, an attempt in flight) was orphaned — no timer to wait out.
 *
 * A lease that loses its connection (a database restart, a network cut) is taken again under a new
 * key: whatever the process held under the old key is then free, because the requests holding it
 * most likely failed with the connection and could not release it. Should one of them still be
 * running, it is safe too: whoever takes over an orphaned attempt settles it by asking the
 * processor, and the version and lock-token guards let only one writer commit the result.
 */
const LEASE_NAMESPACE = 1_346_459_986; // 'PAYR' as an int4, keeps our advisory keys apart from others
const LEASE_KEY_ATTEMPTS_MAX = 16;
const RECONNECT_DELAY_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
/** How often the lease checks it still holds its lock; also bounds each check (query timeout). */
const HEARTBEAT_INTERVAL_MS = 2_000;

export interface ProcessLease {
  /**
   * This process's current key, stored beside whatever it takes from now on; null while the lease is
   * being taken again, so nothing is stamped with a key that is already gone.
   */
  readonly key: number | null;
  stop(): Promise<void>;
}

/** True (as SQL) while the process whose lease key is in `column` is alive. */
export function leaseAlive(column: string): SqlFragment {
  assert(/^[a-z_]+$/.test(column), `lease column ${column} is not a plain column name`);
  return rawSql(`EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid = ${LEASE_NAMESPACE}::oid AND objid = (${column})::oid AND objsubid = 2)`);
}

/**
 * Takes a lease under a fresh random key, and a new one after a lost connection. A heartbeat checks
 * that the session still holds its lock, so a session the server ended while the client sent nothing
 * is noticed within seconds rather than when TCP keep-alive gives up.
 */
export async function takeProcessLease(connection_string: string, on_error: (error: unknown) => void): Promise<ProcessLease> {
  let stopped = false;
  let client = await connect(connection_string);
  let key: number | null = await takeFreshKey(client);
  let renewing = false;
  const renew = async (error: unknown): Promise<void> => {
    if (stopped || renewing) return;
    renewing = true;
    key = null;
    on_error(error);
    void client.end().catch(() => {});
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS).unref());
      try {
        const next = await connect(connection_string);
        const fresh = await takeFreshKey(next);
        client = next;
        watch(next);
        key = fresh;
        break;
      } catch (retry_error) {
        on_error(retry_error);
      }
    }
    renewing = false;
  };
  const watch = (current: pg.Client): void => {
    current.on('error', (error) => void renew(error));
  };
  watch(client);
  const heartbeat = setInterval(() => {
    const held = key;
    if (renewing || held === null) return;
    stillHeld(client, held).then(
      (ok) => (ok ? undefined : renew(new Error('the process lease was lost'))),
      (error: unknown) => renew(error),
    );
  }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  return {
    get key() {
      return key;
    },
    stop: async () => {
      stopped = true;
      clearInterval(heartbeat);
      await client.end().catch(() => {});
    },
  };
}

async function stillHeld(client: pg.Client, key: number): Promise<boolean> {
  const result = await client.query<{ held: boolean }>({
    text: `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted
      AND classid = $1::oid AND objid = $2::oid AND objsubid = 2) AS held`,
    values: [LEASE_NAMESPACE, key],
  });
  return result.rows[0]?.held === true;
}

async function connect(connection_string: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: connection_string,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    query_timeout: HEARTBEAT_INTERVAL_MS,
    application_name: 'payrail-lease',
  });
  client.on('error', () => {}); // replaced by watch(); never let a lost socket crash the process meanwhile
  await client.connect();
  return client;
}

async function takeFreshKey(client: pg.Client): Promise<number> {
  for (let attempt = 0; attempt < LEASE_KEY_ATTEMPTS_MAX; attempt += 1) {
    const key = randomInt(1, 2 ** 31 - 1);
    if (await tryLock(client, key)) return key;
  }
  throw new Error('could not take a process lease: every key tried was held');
}

async function tryLock(client: pg.Client, key: number): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS locked', [LEASE_NAMESPACE, key]);
  return result.rows[0]?.locked === true;
}

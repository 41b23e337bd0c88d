import type pg from 'pg';
import type { Pool } from '../../../../platform/db.js';
import { run, sql } from '../../../../platform/db.js';

/**
 * Leadership by a PostgreSQL session advisory lock held on a dedicated connection: one process leads
 * (relays, or feeds a JetStream consumer), the others stand by and try again now and then. The lock
 * lives exactly as long as the connection, so a leader that dies (or loses its database) frees it at
 * once, and a standby takes over from the durable position in the database.
 *
 * The leader does its reads and position writes on the same connection: once the lock is gone, so is
 * the connection, and its next query fails instead of acting on a lock it no longer holds.
 */
export class AdvisoryLeader {
  private client: pg.PoolClient | undefined;
  private lost = false;
  private readonly onError = () => {
    this.lost = true;
  };

  constructor(
    private readonly pool: Pool,
    readonly key: string,
  ) {}

  get held(): boolean {
    return this.client !== undefined && !this.lost;
  }

  /** The lock-holding connection; only while `held`. */
  get connection(): pg.PoolClient {
    if (!this.client || this.lost) throw new Error(`leadership ${this.key} is not held`);
    return this.client;
  }

  /** Takes the lock if free; true when this process leads (already or now). */
  async tryAcquire(): Promise<boolean> {
    if (this.lost) await this.release();
    if (this.client) return true;
    const client = await this.pool.connect();
    const onError = this.onError;
    client.on('error', onError);
    try {
      const result = await run<{ locked: boolean }>(client, sql`SELECT pg_try_advisory_lock(hashtextextended(${this.key}, 0)) AS locked`);
      if (result.rows[0]?.locked === true) {
        this.client = client;
        this.lost = false;
        return true;
      }
    } catch (error) {
      client.off('error', onError);
      client.release(true);
      throw error;
    }
    client.off('error', onError);
    client.release();
    return false;
  }

  /** After a failed query on the connection: give the lock up (a broken connection is discarded). */
  markLost(): void {
    this.lost = true;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.off('error', this.onError);
    const broken = this.lost;
    this.lost = false;
    if (!broken) {
      const unlocked = await run(client, sql`SELECT pg_advisory_unlock(hashtextextended(${this.key}, 0))`).then(
        () => true,
        () => false,
      );
      client.release(!unlocked);
      return;
    }
    // A connection that failed may still hold the lock server-side: destroy it so the lock goes too.
    client.release(true);
  }
}

import type { PoolLimits } from './db.js';
import { createPool } from './db.js';

/**
 * How far each standby of the primary is behind (docs/operations.md, "Standby lost"), read from
 * pg_stat_replication at scrape time. Its LSN and lag columns are visible only to superusers and
 * members of pg_monitor, so this reads over the owner's connection (the role that runs migrations),
 * on a pool of one. Without that privilege, or with no standby, there is nothing to report.
 */
export interface StandbyReading {
  /** The standby's application_name (Patroni sets it to the node's name). */
  standby: string;
  /** 'sync' for the standby every commit waits for; 'async', 'potential' or 'quorum' otherwise. */
  sync_state: string;
  /** WAL the primary has written that the standby has not replayed yet. */
  lag_bytes: number;
  /** Time between a commit on the primary and its replay on the standby (0 when idle and caught up). */
  lag_seconds: number;
}

export interface ReplicationReader {
  read(): Promise<StandbyReading[]>;
  close(): Promise<void>;
}

export function openReplicationReader(owner_url: string, limits: PoolLimits): ReplicationReader {
  const pool = createPool(owner_url, 1, limits);
  return {
    read: async () => {
      const result = await pool.query<StandbyReading>({
        name: 'payrail_metrics_replication',
        // pg_current_wal_lsn() fails on a standby: a node in recovery reports no standbys of its own.
        text: `SELECT application_name AS standby, sync_state,
                 pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS lag_bytes,
                 COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8 AS lag_seconds
               FROM pg_stat_replication
               WHERE replay_lsn IS NOT NULL AND NOT (SELECT pg_is_in_recovery())`,
      });
      return result.rows;
    },
    close: () => pool.end(),
  };
}

import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * The developers area's own table: the gateway's log of `/v1` requests (never a key, a body or a
 * query string), written in batches by `BufferedRequestLog` and purged after `REQUEST_LOG_RETENTION_MS`.
 * The schema is the dashboard's (dashboard/001_auth creates it; IF NOT EXISTS keeps this one independent).
 */
export const dashboardDeveloperMigrations: readonly Migration[] = [
  {
    id: 'dashboard/002_request_log',
    sql: `
      CREATE SCHEMA IF NOT EXISTS dashboard;
      CREATE TABLE dashboard.api_requests (
        merchant_id text NOT NULL,
        request_id text COLLATE "C" NOT NULL,
        created_ms bigint NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        status int NOT NULL,
        latency_ms real NOT NULL,
        api_key_id text,
        -- Request ids are time-ordered: the key is also the newest-first list's order.
        PRIMARY KEY (merchant_id, request_id)
      );
      -- The retention purge's range.
      CREATE INDEX api_requests_created ON dashboard.api_requests (created_ms);
      ${merchantScoped('dashboard.api_requests')}`,
  },
];

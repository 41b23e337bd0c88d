import type { Migration } from '../../../platform/migrations.js';

/**
 * A processor's notification names only the connector account in its URL
 * (POST /connectors/:connector_account_id/notifications), never the merchant: the account is found
 * by its id alone, which is unique across merchants (ids are ULIDs).
 */
export const notificationMigrations: Migration[] = [
  {
    id: 'connectors/notifications_001_account_by_id',
    sql: `CREATE UNIQUE INDEX connector_accounts_by_id ON connectors.connector_accounts (id);`,
  },
];

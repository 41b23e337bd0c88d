import type { Migration } from '../../../platform/migrations.js';
import { merchantScopedTables } from '../../../platform/rls.js';

/**
 * Transfers to connected accounts (`/v1/transfers`) and their reversals, both owned by the platform
 * that made them (merchant_id). The money is in the ledger (ledger/005_connect_transfers); these rows
 * hold the Stripe objects. `amount_reversed` never exceeds `amount`, whatever the code does.
 */
export const connectTransferMigrations: Migration[] = [
  {
    id: 'connect/100_transfers',
    sql: `
      CREATE SCHEMA IF NOT EXISTS connect;
      CREATE TABLE connect.transfers (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        destination text NOT NULL,
        transfer_group text,
        amount bigint NOT NULL CHECK (amount > 0),
        amount_reversed bigint NOT NULL CHECK (amount_reversed BETWEEN 0 AND amount),
        state jsonb NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX transfers_by_destination ON connect.transfers (merchant_id, destination, id);
      CREATE INDEX transfers_by_group ON connect.transfers (merchant_id, transfer_group, id) WHERE transfer_group IS NOT NULL;
      CREATE TABLE connect.transfer_reversals (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        transfer_id text COLLATE "C" NOT NULL,
        created bigint NOT NULL,
        state jsonb NOT NULL,
        version int NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX transfer_reversals_by_transfer ON connect.transfer_reversals (merchant_id, transfer_id, id);
      ${merchantScopedTables(['connect.transfers', 'connect.transfer_reversals'])}`,
  },
];

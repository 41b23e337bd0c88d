import type { Migration } from '../../../platform/migrations.js';
import { merchantScoped } from '../../../platform/rls.js';

/**
 * Destination charges' objects, each kept whole in `state`, with what lists filter on copied out. The
 * ids are derived from the charge (payments/domain/destination.ts), so the primary key is what makes
 * a capture's effects happen once however often its event is handed over.
 */
export const connectChargeMigrations: Migration[] = [
  {
    id: 'connect_charges/001_destination_charges',
    sql: `
      CREATE SCHEMA IF NOT EXISTS connect_charges;
      -- The platform's application fees (fee_…): merchant_id is the platform, account the connected account.
      CREATE TABLE connect_charges.application_fees (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        account_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
        created bigint NOT NULL,
        version int NOT NULL DEFAULT 1,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX application_fees_by_charge ON connect_charges.application_fees (merchant_id, charge_id, id);
      -- The transfer (tr_…) a destination charge's capture makes, on the platform.
      CREATE TABLE connect_charges.destination_transfers (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        charge_id text NOT NULL,
        destination text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        amount_reversed bigint NOT NULL DEFAULT 0 CHECK (amount_reversed >= 0 AND amount_reversed <= amount),
        created bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE UNIQUE INDEX destination_transfers_by_charge ON connect_charges.destination_transfers (merchant_id, charge_id);
      -- Refunds of application fees (fr_…), the platform's.
      CREATE TABLE connect_charges.fee_refunds (
        merchant_id text NOT NULL,
        id text COLLATE "C" NOT NULL,
        fee_id text NOT NULL,
        created bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      CREATE INDEX fee_refunds_by_fee ON connect_charges.fee_refunds (merchant_id, fee_id, id);
      ${merchantScoped('connect_charges.application_fees')}
      ${merchantScoped('connect_charges.destination_transfers')}
      ${merchantScoped('connect_charges.fee_refunds')}
      INSERT INTO ledger.transfer_kinds (kind) VALUES ('application_fee_refund'), ('connect_release') ON CONFLICT DO NOTHING;`,
  },
];

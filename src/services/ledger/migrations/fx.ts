import type { Migration } from '../../../platform/migrations.js';

/**
 * FX (docs/currencies.md): the clearing account a conversion's two legs meet in, the conversion fee
 * revenue, the presentment-currency transfer kinds, and the conversion a settlement-currency leg
 * reports (its balance transaction's exchange_rate).
 */
export const fxLedgerMigration: Migration = {
  id: 'ledger/006_fx_conversion',
  sql: `
    INSERT INTO ledger.account_codes (code, normal) VALUES ('fx_clearing', 'debit'), ('fx_fees', 'credit');
    INSERT INTO ledger.transfer_kinds (kind) VALUES ('fx_capture'), ('fx_refund'), ('fx_refund_failure');
    ALTER TABLE ledger.transfers ADD COLUMN conversion jsonb NULL
      CHECK (conversion IS NULL OR (jsonb_typeof(conversion -> 'from_amount') = 'number' AND jsonb_typeof(conversion -> 'exchange_rate') = 'string'));`,
};

/**
 * The settlement service's public entry: processor settlement reports and their import into the
 * ledger, payouts to the merchant's bank, and reconciliation of the processor's reports against
 * Payrail's books. Other modules reach it only through this file.
 */
export { settlementMigrations } from './migrations/index.js';

import type { Migration } from '../../../platform/migrations.js';
import { settlementReportMigrations } from './settlement.js';
import { payoutMigrations } from './payouts.js';
import { reconciliationMigrations } from './reconciliation.js';

/**
 * The settlement service's schema, `settlement`, shared by its three parts. Each part keeps its own
 * list in a file of its own (settlement.ts: processor settlement reports and their import; payouts.ts;
 * reconciliation.ts), appended here; ids are `settlement/NNN_name` and stay unique across the files.
 * Parts do not depend on each other's tables, so the order between the lists does not matter.
 */
export const settlementMigrations: Migration[] = [
  { id: 'settlement/000_schema', sql: 'CREATE SCHEMA IF NOT EXISTS settlement;' },
  ...settlementReportMigrations,
  ...payoutMigrations,
  ...reconciliationMigrations,
];

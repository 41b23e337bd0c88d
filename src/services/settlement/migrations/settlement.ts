import type { Migration } from '../../../platform/migrations.js';

/** Processor settlement: imported settlement reports, their lines, and the postings they caused. */
export const settlementReportMigrations: Migration[] = [];

import type { Migration } from '../../../platform/migrations.js';
import { radarMigrations } from './radar.js';

/** The risk schema's migrations, in the order they were written (each list appends; ids never change). */
export const riskMigrations: Migration[] = [...radarMigrations];

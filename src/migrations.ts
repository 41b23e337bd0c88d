import type { Migration } from './migrations.js';
import { merchantMigrations } from '../services/merchants/migrations/index.js';
import { gatewayMigrations } from '../services/gateway/migrations.js';
import { paymentMigrations } from '../services/payments/migrations/index.js';
import { vaultMigrations } from '../services/vault/migrations/index.js';
import { eventMigrations } from '../services/events/migrations/index.js';
import { ledgerMigrations } from '../services/ledger/migrations/index.js';
import { connectorMigrations } from '../services/connectors/migrations/index.js';

/** Every service's migrations, in the order they were written. Each service owns its schema. */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...merchantMigrations,
  ...gatewayMigrations,
  ...paymentMigrations,
  ...vaultMigrations,
  ...eventMigrations,
  ...ledgerMigrations,
  ...connectorMigrations,
];

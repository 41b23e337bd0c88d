import type { Migration } from './platform/migrations.js';
import { merchantMigrations } from './services/merchants/index.js';
import { gatewayMigrations } from './services/gateway/index.js';
import { paymentMigrations } from './services/payments/index.js';
import { vaultMigrations } from './services/vault/index.js';
import { eventMigrations } from './services/events/index.js';
import { ledgerMigrations } from './services/ledger/index.js';
import { connectorMigrations } from './services/connectors/index.js';
import { auditMigrations } from './services/audit/index.js';
import { checkoutMigrations } from './services/checkout/index.js';
import { disputeMigrations } from './services/disputes/index.js';
import { riskMigrations } from './services/risk/index.js';
import { settlementMigrations } from './services/settlement/index.js';
import { billingMigrations } from './services/billing/index.js';
import { connectTransferMigrations } from './services/connect/index.js';
import { connectChargeMigrations } from './services/connect-charges/index.js';
import { fxMigrations } from './services/fx/index.js';
import { dashboardAuthMigrations, dashboardDeveloperMigrations, dashboardPaymentMigrations } from './services/dashboard/index.js';

/** Every service's migrations, in the order they were written. Each service owns its schema. */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...merchantMigrations,
  ...gatewayMigrations,
  ...paymentMigrations,
  ...vaultMigrations,
  ...eventMigrations,
  ...ledgerMigrations,
  ...connectorMigrations,
  ...auditMigrations,
  ...checkoutMigrations,
  ...disputeMigrations,
  ...riskMigrations,
  ...settlementMigrations,
  ...billingMigrations,
  ...connectChargeMigrations,
  ...fxMigrations,
  ...connectTransferMigrations,
  ...dashboardAuthMigrations,
  ...dashboardDeveloperMigrations,
  ...dashboardPaymentMigrations,
];

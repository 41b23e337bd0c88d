import type { Migration } from '../../../platform/migrations.js';
import { catalogMigration } from './catalog.js';
import { invoicesMigration } from './invoices.js';
import { subscriptionsMigration } from './subscriptions.js';
import { renewalsMigration } from './renewals.js';

/** The billing service's schema: each part of billing writes its own migration file and appends it here. */
export const billingMigrations: Migration[] = [catalogMigration, invoicesMigration, subscriptionsMigration, renewalsMigration];

import type { Clock } from '../../../kernel/clock.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { PaymentsDeps } from '../../payments/index.js';
import type { InvoiceHooks } from './invoice-hooks.js';

/**
 * What the billing service needs from the rest of Payrail. Each part of billing (catalog, invoices,
 * subscriptions, renewals) adds the fields it needs here; the composition root (service-wiring.ts) fills them.
 */
export interface BillingDeps {
  /** The write pipeline: every billing use case commits through it, with its events. */
  write: WriteDeps;
  /** The payments service: customers, payment methods, and the PaymentIntents invoices are paid with. */
  payments: PaymentsDeps;
  /** Read-only, merchant-scoped reads (the same pool as `write.reader`). */
  reader: Pool;
  /** Reads across merchants through the system role (scheduled sweeps, hosted pages known by id alone). */
  lookup: Pool;
  clock: Clock;
  ids: IdGenerator;
  /** Base URL of Payrail's own pages (hosted invoices, invoice PDFs). */
  public_url: () => string;
  /** Background billing work (a test clock's advance, the billing job) reports its failures here. */
  logger: Logger;
  /** What subscriptions (and dunning) do when an invoice is paid or its payment fails, and their upcoming-invoice previews. */
  invoice_hooks: InvoiceHooks;
}

import type { Clock } from './kernel/clock.js';
import { sameSecret } from './kernel/secrets.js';
import type { PaymentServices } from './payment-services.js';
import type { Config } from './platform/config.js';
import type { Database } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { withMerchant } from './platform/merchant-scope.js';
import type { BillingDeps } from './services/billing/index.js';
import { billingInvoiceHooks, noInvoiceHooks } from './services/billing/index.js';
import type { CheckoutDeps } from './services/checkout/index.js';
import type { DisputesDeps } from './services/disputes/index.js';
import type { ClientSecretCheck } from './services/gateway/index.js';
import type { KeyStore } from './services/merchants/index.js';
import { countMerchants, createMerchant } from './services/merchants/index.js';
import type { PaymentsDeps } from './services/payments/index.js';
import { retrieveIntent, retrieveSetupIntent } from './services/payments/index.js';

/**
 * The composition root's glue: what one service needs from another, adapted in one place, so
 * compose.ts only starts and stops things.
 */

/** The checkout service runs payments' use cases; it finds a session by id alone (hosted page, expiry) through the system role. */
export function checkoutDeps(database: Database, services: PaymentServices): CheckoutDeps {
  return { write: services.write, payments: services.payments, public_url: services.payments.public_url, lookup: database.pool };
}

/**
 * The billing service runs payments' use cases (invoices are paid with PaymentIntents); its sweeps span
 * merchants through the system role. Its invoice hooks (subscriptions' status, dunning) see these deps.
 */
export function billingDeps(database: Database, services: PaymentServices, logger: Logger): BillingDeps {
  const { write, payments } = services;
  const deps: BillingDeps = {
    write,
    payments,
    reader: write.reader,
    lookup: database.pool,
    clock: write.clock,
    ids: write.ids,
    public_url: payments.public_url,
    logger,
    invoice_hooks: noInvoiceHooks(),
  };
  deps.invoice_hooks = billingInvoiceHooks(deps);
  return deps;
}

/** The disputes service reads the disputed charge through payments, and finds due decisions across merchants through the system role. */
export function disputesDeps(database: Database, services: PaymentServices): DisputesDeps {
  return { write: services.write, payments: services.payments, lookup: database.pool };
}

/** Where webhooks may go: public addresses only unless PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1, over https only in live mode. */
export function webhookDestinations(config: Config): { allow_private: boolean; https_only: boolean } {
  if (config.mode === 'live' && config.webhooks_allow_private) {
    throw new Error('PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1 is for development: live mode refuses it (docs/security.md#webhooks-ssrf)');
  }
  return { allow_private: config.webhooks_allow_private, https_only: config.mode === 'live' };
}

/**
 * The gateway's check of a publishable key's `client_secret`: it must be the PaymentIntent's or
 * SetupIntent's own (read in the merchant's scope, as the request's handler would).
 */
export function clientSecretCheck(payments: PaymentsDeps): ClientSecretCheck {
  return (merchant_id, route, object_id, client_secret) =>
    withMerchant(merchant_id, async () => {
      const object = route.includes('/setup_intents/')
        ? await retrieveSetupIntent(payments, merchant_id, object_id)
        : await retrieveIntent(payments, merchant_id, object_id);
      return sameSecret(String(object.client_secret), client_secret);
    });
}

/**
 * On first start, creates the default merchant, with PAYRAIL_BOOTSTRAP_SECRET_KEY as its key when set
 * (refused when weak). The key is returned to be shown once; it is stored only as a keyed hash.
 */
export async function ensureDefaultMerchant(config: Config, store: KeyStore, clock: Clock): Promise<string | undefined> {
  if ((await countMerchants(store.pool)) > 0) return undefined;
  const created = await createMerchant(store, Math.floor(clock.now_ms() / 1000), { secret_key: config.bootstrap_secret_key, actor: { type: 'system' } });
  return created.secret_key;
}

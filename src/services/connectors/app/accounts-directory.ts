/**
 * The router's directory over the merchants' connector accounts and routing rules (the accounts
 * cache, connector-accounts-cache.ts): routing's pure chooseRoute over the merchant's config and the
 * router's health, and the account's opened connector.
 */
import { chooseRoute } from '../domain/routing.js';
import type { ConnectorAccounts } from './connector-accounts-cache.js';
import type { ConnectorDirectory } from './router.js';

export function accountsDirectory(accounts: ConnectorAccounts): ConnectorDirectory {
  return {
    route: async (payment, health) => chooseRoute(await accounts.routing(payment.merchant_id), payment, health).candidates,
    open: (merchant_id, account_id) => accounts.connector(merchant_id, account_id),
  };
}

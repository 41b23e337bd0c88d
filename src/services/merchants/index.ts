/** The merchants service's public entry: accounts, their API keys (lifecycle, resolution, permissions) and the admin API. */
export type { ApiKeyKind, Permissions, Access } from './domain/api-keys.js';
export { keyShape, weakKeyReason } from './domain/api-keys.js';
export type { RequiredPermission, PublishableRule } from './domain/permissions.js';
export { RESOURCES, allows, expansionPermissions, isResource, publishableRule, requiredPermission, stripePermissionName } from './domain/permissions.js';
export type { ApiKeyRecord, ApiKeyStatus, KeyStore, NewKey } from './app/api-keys.js';
export { KeyAdminError, createApiKey, keyStatus, listApiKeys, revokeApiKey, rollApiKey } from './app/api-keys.js';
export type { AuthenticatedKey } from './app/resolver.js';
export { ApiKeyResolver, KEY_CACHE_TTL_MS } from './app/resolver.js';
export { KeyHasher, loadKeyHasher } from './app/key-hashing.js';
export type { MerchantKeys } from './app/merchants.js';
export { WeakKeyError, countMerchants, createMerchant, merchantExists } from './app/merchants.js';
export type { ConnectedAccountRef } from './app/connected-accounts.js';
export { connectedAccountOf, settlementCurrencyOf } from './app/connected-accounts.js';
export { ACCOUNT_ACCESS_TTL_MS, ConnectedAccountAccess } from './app/account-access.js';
export { adminRoutes } from './adapters/admin-routes.js';
export { merchantMigrations } from './migrations/index.js';

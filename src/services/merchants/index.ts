/** The merchants service's public entry: accounts and their API keys. */
export { ApiKeyResolver, countMerchants, createMerchant } from './app/merchants.js';
export { merchantMigrations } from './migrations/index.js';

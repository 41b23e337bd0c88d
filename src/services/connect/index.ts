/** The connect service's public entry: Stripe Connect's accounts (/v1/account, /v1/accounts). Other modules reach it only through this file. */
export type { AccountRouteDeps } from './adapters/account-routes.js';
export { accountRoutes } from './adapters/account-routes.js';
// Transfers to connected accounts and their reversals (/v1/transfers).
export type { TransferRouteDeps } from './adapters/transfer-routes.js';
export { transferRoutes } from './adapters/transfer-routes.js';
export { transferSource } from './app/transfer-reversals.js';
export { connectTransferMigrations } from './migrations/transfers.js';
// For connect-charges: a destination charge's transfer is stored with the separate ones, so GET /v1/transfers/:id shows it.
export type { Transfer } from './domain/transfer.js';
export { renderTransfer } from './domain/transfer.js';
export { insertTransfer } from './adapters/transfer-store.js';
